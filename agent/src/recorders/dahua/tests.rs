//! Dahua parsing against every fixture written from the Dahua HTTP API
//! document (`sim/fixtures/dahua/`), including the odd and bad cases.

use jiff::civil::{date, DateTime};

use super::*;

fn fixture(name: &str) -> String {
    crate::fixture::read("dahua", name)
}

fn kv(name: &str) -> Kv {
    parse_kv(&fixture(name)).unwrap()
}

fn eight() -> DateTime {
    date(2018, 6, 11).at(8, 0, 0, 0)
}

#[test]
fn model_and_firmware() {
    assert_eq!(
        parse_device_type(&kv("device_type.txt")).as_deref(),
        Some("DH-XVR5108HS-4KL-I2")
    );
    assert_eq!(
        parse_model(&kv("system_info.txt")).as_deref(),
        Some("DH-XVR5108HS-4KL-I2")
    );
    let oem = parse_kv("deviceType=\r\nupdateSerial=NVR4104HS-4KS2\r\n").unwrap();
    assert_eq!(parse_model(&oem).as_deref(), Some("NVR4104HS-4KS2"));
    assert_eq!(parse_device_type(&[]), None);
}

#[test]
fn firmware_is_the_version_up_to_the_build() {
    for name in ["software_version.txt", "software_version_split.txt"] {
        assert_eq!(
            parse_firmware(&kv(name)).unwrap(),
            "4.001.0000000.3.R",
            "{name}"
        );
    }
    assert!(parse_firmware(&[]).is_err());
    assert!(parse_firmware(&parse_kv("version=,build:2018-03-06").unwrap()).is_err());
}

#[test]
fn the_device_clock_is_a_wall_clock_padded_or_not() {
    for name in ["current_time.txt", "current_time_unpadded.txt"] {
        assert_eq!(parse_current_time(&kv(name)).unwrap(), eight(), "{name}");
    }
    assert!(parse_current_time(&parse_kv("result=soon\r\n").unwrap()).is_err());
    assert!(parse_current_time(&[]).is_err());
}

#[test]
fn the_ntp_zone_index_twelve_is_wib() {
    let tz = parse_time_zone(&kv("ntp_config.txt")).unwrap();
    let t = eight().to_zoned(tz).unwrap().timestamp();
    assert_eq!(t, "2018-06-11T01:00:00Z".parse().unwrap());
    let at = |i: &str| {
        let tz = parse_time_zone(&parse_kv(&format!("table.NTP.TimeZone={i}")).unwrap())?;
        Some(tz.to_offset(Timestamp::UNIX_EPOCH).seconds() / 60)
    };
    assert_eq!(
        [at("0"), at("9"), at("13"), at("33"), at("39")],
        [Some(0), Some(345), Some(480), Some(-270), Some(765)]
    );
    assert_eq!(at("40"), None, "unknown index");
    assert_eq!(at("Jakarta"), None);
    assert!(parse_time_zone(&[]).is_none());
}

/// Issue 17 point 8: the device's time and its files' ends are read in the
/// same frame (its wall clock in its zone), so the age is their difference
/// on the device's own clock. Before, the ends were placed on the agent's
/// clock while the device time was not: a skewed clock changed the age.
#[test]
fn a_file_end_and_the_device_time_share_the_device_frame() {
    let wib = TimeZone::fixed(jiff::tz::offset(7));
    let clock = Clock {
        wall: eight(),
        tz: wib.clone(),
        zone_known: true,
        own: true,
    };
    let now = clock.device_time().unwrap();
    assert_eq!(now, "2018-06-11T01:00:00Z".parse().unwrap());
    let end = clock.instant(date(2018, 6, 11).at(7, 59, 30, 0)).unwrap();
    assert_eq!(now.duration_since(end), SignedDuration::from_secs(30));
    // A wrong zone moves both alike: the age stays.
    let wrong = Clock {
        tz: TimeZone::UTC,
        ..clock.clone()
    };
    let end_wrong = wrong.instant(date(2018, 6, 11).at(7, 59, 30, 0)).unwrap();
    assert_eq!(
        wrong.device_time().unwrap().duration_since(end_wrong),
        SignedDuration::from_secs(30)
    );
    // A clock the device did not tell is no device time.
    let agents = Clock {
        own: false,
        ..clock
    };
    assert_eq!(agents.device_time(), None);
}

#[test]
fn a_locked_account_is_told_from_a_wrong_password() {
    assert_eq!(
        parse_lock(&fixture("login_locked.json")),
        Some(Some(std::time::Duration::from_secs(1785)))
    );
    assert_eq!(parse_lock(&fixture("login_wrong_password.json")), None);
    assert_eq!(parse_lock(&fixture("error_invalid_authority.txt")), None);
    assert_eq!(parse_lock(""), None);
    assert_eq!(
        parse_lock(r#"{"error":{"code":268632081,"message":"x"},"result":false}"#),
        Some(None),
        "locked without saying how long"
    );
}

#[test]
fn a_failed_disk_that_reads_full_is_unhealthy() {
    let disks = parse_disks(&kv("storage_error_full.txt")).unwrap();
    let d = &disks[0];
    assert_eq!((d.status.as_str(), d.healthy), ("Error", false));
    assert_eq!(d.free_bytes, Some(0));
}

#[test]
fn disks_with_errors_are_unhealthy_and_free_space_is_total_minus_used() {
    let disks = parse_disks(&kv("storage_error.txt")).unwrap();
    assert_eq!(disks.len(), 2);
    let d0 = &disks[0];
    assert_eq!(
        (d0.id.as_str(), d0.status.as_str(), d0.healthy),
        ("/dev/sda", "Success", true)
    );
    assert_eq!(d0.capacity_bytes, Some(1_000_202_273_280));
    assert_eq!(d0.free_bytes, Some(0), "full, in overwrite mode");
    let d1 = &disks[1];
    assert_eq!(
        (d1.id.as_str(), d1.status.as_str(), d1.healthy),
        ("/dev/sdb", "Error", false)
    );
    assert_eq!(d1.free_bytes, Some(2_000_396_746_752));
}

#[test]
fn a_healthy_disk() {
    let disks = parse_disks(&kv("storage.txt")).unwrap();
    assert_eq!(disks.len(), 1);
    assert_eq!(
        (disks[0].status.as_str(), disks[0].healthy),
        ("Success", true)
    );
    assert_eq!(disks[0].capacity_bytes, Some(1_000_202_273_280));
    assert_eq!(
        disks[0].free_bytes,
        Some(1_000_202_273_280 - 620_125_409_280)
    );
}

#[test]
fn a_partition_in_error_makes_a_success_disk_unhealthy_and_partitions_sum() {
    let disks = parse_disks(&kv("storage_partition_error.txt")).unwrap();
    assert_eq!(disks.len(), 1);
    let d = &disks[0];
    assert_eq!((d.status.as_str(), d.healthy), ("IsError", false));
    assert_eq!(d.capacity_bytes, Some(2 * 500_101_136_384));
    assert_eq!(d.free_bytes, Some(2 * 500_101_136_384 - 310_062_704_640));
}

#[test]
fn a_storage_answer_cut_before_the_last_state_is_a_parse_error() {
    let full = fixture("storage_error.txt");
    let cut = &full[..full.find("list.info[1].State").unwrap()];
    let e = parse_disks(&parse_kv(cut).unwrap()).unwrap_err();
    assert!(matches!(e, ProbeError::Parse(_)), "{e:?}");
    assert!(e.to_string().contains("disk 1 has no State"), "{e}");
}

#[test]
fn other_disk_states_are_unhealthy_extra_keys_ignored_and_no_list_is_no_disk() {
    let body = "list.info[0].HealthDataFlag=0\r\nlist.info[0].Name=/dev/md0\r\n\
list.info[0].State=Degraded\r\nlist.info[0].Type=Raid5\r\n";
    let disks = parse_disks(&parse_kv(body).unwrap()).unwrap();
    assert_eq!(
        (
            disks[0].id.as_str(),
            disks[0].status.as_str(),
            disks[0].healthy
        ),
        ("/dev/md0", "Degraded", false)
    );
    assert_eq!((disks[0].capacity_bytes, disks[0].free_bytes), (None, None));
    assert_eq!(parse_disks(&parse_kv("").unwrap()).unwrap(), vec![]);
}

#[test]
fn record_modes_by_channel_index_from_zero() {
    let kv = kv("record_mode.txt");
    let modes: Vec<_> = (0..9).map(|i| record_mode(&kv, i)).collect();
    let on = Some(true);
    assert_eq!(
        modes,
        [on, on, on, on, on, Some(false), on, on, None],
        "camera 6 (index 5) stopped; index 8 absent"
    );
    let odd = parse_kv("table.RecordMode[0].Mode=7\r\ntable.RecordMode[1].Mode=1\r\n").unwrap();
    assert_eq!(record_mode(&odd, 0), None, "an unknown mode is no opinion");
    assert_eq!(record_mode(&odd, 1), Some(true), "manual records");
}

#[test]
fn overwrite_from_the_storage_group() {
    assert_eq!(parse_overwrite(&kv("storage_group.txt")), Some(true));
    assert_eq!(
        parse_overwrite(&kv("storage_group_no_overwrite.txt")),
        Some(false)
    );
    let groups = "table.StorageGroup[0].Name=ReadWrite\r\ntable.StorageGroup[0].OverWrite=true\r\n\
table.StorageGroup[1].Name=ReadOnly\r\ntable.StorageGroup[1].OverWrite=false\r\n";
    assert_eq!(
        parse_overwrite(&parse_kv(groups).unwrap()),
        Some(true),
        "a read-only group does not decide"
    );
    assert_eq!(parse_overwrite(&[]), None);
}

#[test]
fn the_finder_object_is_kept_as_digits() {
    assert_eq!(parse_object(&kv("find_create.txt")).unwrap(), "1876505552");
    assert_eq!(
        parse_object(&parse_kv("result=08137").unwrap()).unwrap(),
        "08137"
    );
    for bad in ["result=", "result=1&action=destroy", "found=1"] {
        assert!(parse_object(&parse_kv(bad).unwrap()).is_err(), "{bad}");
    }
}

#[test]
fn find_file_answers() {
    assert_eq!(find_file_answer(&fixture("find_file_ok.txt")), Ok(true));
    assert_eq!(
        find_file_answer(&fixture("find_file_error.txt")),
        Ok(false),
        "a bare Error is nothing matched"
    );
    assert_eq!(
        find_file_answer(&fixture("error_bad_request.txt")),
        Err(ProbeError::Device(
            "recorder says Error: Bad Request!".into()
        ))
    );
    assert!(find_file_answer("<html>busy</html>").is_err());
}

#[test]
fn close_and_destroy_answer_ok() {
    for name in ["find_close_ok.txt", "find_destroy_ok.txt"] {
        assert_eq!(fixture(name).trim(), "OK", "{name}");
        assert_eq!(parse_kv(&fixture(name)), Ok(vec![]), "{name}");
    }
}

#[test]
fn found_files_give_the_newest_end_on_the_wall_clock() {
    let page = parse_found(&kv("find_next.txt")).unwrap();
    assert_eq!(page.found, 2);
    assert_eq!(page.newest, Some(date(2018, 6, 11).at(7, 59, 30, 0)));
}

#[test]
fn found_zero_is_no_segment() {
    let page = parse_found(&kv("find_next_none.txt")).unwrap();
    assert_eq!(
        page,
        FoundPage {
            found: 0,
            newest: None
        }
    );
}

#[test]
fn a_truncated_find_answer_is_a_parse_error_not_fewer_files() {
    let e = parse_found(&kv("find_next_truncated.txt")).unwrap_err();
    assert!(matches!(e, ProbeError::Parse(_)), "{e:?}");
    assert!(e.to_string().contains("items[1].EndTime"), "{e}");
    // Cut before the second file's EndTime line entirely.
    let full = fixture("find_next.txt");
    let before = &full[..full.find("items[1].EndTime").unwrap()];
    assert!(parse_found(&parse_kv(before).unwrap()).is_err());
    assert_eq!(
        parse_found(&[]).unwrap_err(),
        ProbeError::Parse("no `found` in the answer".into())
    );
}

#[test]
fn an_error_body_is_the_device_refusing() {
    assert_eq!(
        parse_kv(&fixture("error_bad_request.txt")).unwrap_err(),
        ProbeError::Device("recorder says Error: Bad Request!".into())
    );
    assert_eq!(
        parse_kv(&fixture("error_invalid_authority.txt")).unwrap_err(),
        ProbeError::Device("recorder says Error: Invalid Authority!".into())
    );
    let bare = parse_kv("Error\r\n").unwrap_err();
    assert_eq!(bare.to_string(), "recorder says Error: no reason given");
}

#[test]
fn values_keep_everything_after_the_first_equals_sign() {
    let kv = parse_kv("a=b=c\r\n\r\nstray line\r\nd = e \r\n").unwrap();
    assert_eq!(kv, [("a".into(), "b=c".into()), ("d".into(), "e".into())]);
}

#[test]
fn dates_with_and_without_leading_zeros() {
    assert_eq!(civil("2018-6-11 8:00:00"), Some(eight()));
    assert_eq!(civil("2018-06-11 08:00:00"), Some(eight()));
    let wib = TimeZone::fixed(jiff::tz::offset(7));
    assert_eq!(
        wall_time("2018-6-11 8:00:00", &wib),
        Some("2018-06-11T01:00:00Z".parse().unwrap())
    );
    for bad in [
        "yesterday",
        "2018-6-11 8:00",
        "2018-13-11 8:00:00",
        "2018-6-1x 8:00:00",
    ] {
        assert_eq!(civil(bad), None, "{bad}");
    }
}

#[test]
fn the_search_window_is_on_the_device_wall_clock() {
    let (from, to) = window(eight(), SignedDuration::from_hours(1)).unwrap();
    assert_eq!(query_time(from), "2018-06-11%2007:00:00");
    assert_eq!(query_time(to), "2018-06-11%2008:05:00");
}

/// Found by `fuzz_dahua_mutated_fixtures`: a list index this large sized a
/// list of that many entries, and the failed allocation aborted the agent
/// (`usize::MAX` overflowed `n + 1` first, in debug builds).
#[test]
fn a_huge_list_index_is_refused_not_allocated() {
    for index in ["4000000000", "18446744073709551615"] {
        let storage =
            fixture("storage.txt").replace("list.info[0]", &format!("list.info[{index}]"));
        let e = parse_disks(&parse_kv(&storage).unwrap()).unwrap_err();
        assert!(e.to_string().contains("past 255"), "{e}");
        let groups = fixture("storage_group.txt")
            .replace("StorageGroup[0]", &format!("StorageGroup[{index}]"));
        assert_eq!(parse_overwrite(&parse_kv(&groups).unwrap()), None);
    }
}
