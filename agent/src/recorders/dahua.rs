//! Dahua HTTP API (`/cgi-bin/…`, `key=value` text, digest auth).
//!
//! Reads `magicBox.cgi` (model, firmware), `global.cgi` (clock),
//! `storageDevice.cgi?action=getDeviceAllInfo` (disks), `configManager.cgi`
//! RecordMode (0 schedule, 1 manual, 2 stop; indexed from 0), and per channel
//! the newest recorded file through a `mediaFileFind.cgi` finder: create,
//! findFile, findNextFile, then close and destroy.
//!
//! Dahua recorders keep local time without an offset in these answers. The
//! agent sits in the same office, so its own time zone reads them.

use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ronda_wire::RecorderDisk;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Device};
use crate::probe::ProbeError;

const FIND: &str = "/cgi-bin/mediaFileFind.cgi";
/// Files asked for per findNextFile, and pages read before settling.
const PAGE: usize = 100;
const MAX_PAGES: usize = 10;

pub struct Dahua {
    device: Device,
    channels: Vec<String>,
    lookback: Duration,
    tz: TimeZone,
}

impl Dahua {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Dahua {
            device: Device::new(
                clients.pick(cfg.insecure_tls),
                &cfg.url,
                cfg.creds.clone(),
                cfg.timeout,
            ),
            channels: cfg.channels.iter().map(|c| c.id.clone()).collect(),
            lookback: cfg.lookback,
            tz: TimeZone::system(),
        }
    }

    async fn kv(&self, path: &str) -> Result<Vec<(String, String)>, ProbeError> {
        parse_kv(&self.device.get(path).await?)
    }

    async fn read_all(&self, now: Timestamp) -> Result<Reading, ProbeError> {
        let info = self
            .kv("/cgi-bin/magicBox.cgi?action=getSystemInfo")
            .await?;
        let version = self
            .kv("/cgi-bin/magicBox.cgi?action=getSoftwareVersion")
            .await?;
        let time = self.kv("/cgi-bin/global.cgi?action=getCurrentTime").await?;
        let storage = self
            .kv("/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo")
            .await?;
        let modes = self
            .kv("/cgi-bin/configManager.cgi?action=getConfig&name=RecordMode")
            .await?;
        let mut channels = Vec::new();
        for id in &self.channels {
            let n: usize = id.parse().unwrap_or(0);
            let mut r = ChannelReading::new(id);
            r.recording = record_mode(&modes, n.saturating_sub(1));
            match self.newest_file(n, now).await {
                Ok(end) => r.last_segment_end = end,
                Err(e) => r.error = Some(format!("recording search failed: {e}")),
            }
            channels.push(r);
        }
        Ok(Reading {
            model: get(&info, "deviceType").map(str::to_owned),
            firmware: get(&version, "version").map(str::to_owned),
            device_time: get(&time, "result").and_then(|t| local(t, &self.tz)),
            overwrite: None,
            disks: parse_disks(&storage),
            channels,
        })
    }

    /// Run one finder and always close and destroy it, whatever failed in
    /// between: a recorder has few finder slots and leaks them otherwise.
    /// (Only a deadline that drops this future mid-way skips the cleanup;
    /// Dahua frees abandoned finders after its own timeout.)
    async fn newest_file(
        &self,
        channel: usize,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, ProbeError> {
        let created = self.kv(&format!("{FIND}?action=factory.create")).await?;
        let object = get(&created, "result")
            .ok_or_else(|| ProbeError::Parse("factory.create gave no object".into()))?
            .to_owned();
        let found = self.search(&object, channel, now).await;
        for action in ["close", "destroy"] {
            if let Err(e) = self
                .device
                .get(&format!("{FIND}?action={action}&object={object}"))
                .await
            {
                tracing::debug!(%object, action, error = %e, "finder cleanup failed");
            }
        }
        found
    }

    async fn search(
        &self,
        object: &str,
        channel: usize,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, ProbeError> {
        let lookback =
            SignedDuration::try_from(self.lookback).unwrap_or(SignedDuration::from_hours(1));
        let fmt = |t: Timestamp| {
            t.to_zoned(self.tz.clone())
                .strftime("%Y-%m-%d%%20%H:%M:%S")
                .to_string()
        };
        let (from, to) = (fmt(now - lookback), fmt(now + SignedDuration::from_mins(5)));
        let find = format!(
            "{FIND}?action=findFile&object={object}&condition.Channel={channel}&condition.StartTime={from}&condition.EndTime={to}&condition.Types[0]=dav"
        );
        let answer = self.device.get(&find).await?;
        if !answer.trim().eq_ignore_ascii_case("OK") {
            return Err(ProbeError::Device(format!(
                "findFile refused: {}",
                crate::http::snippet(&answer)
            )));
        }
        let mut newest = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .kv(&format!(
                    "{FIND}?action=findNextFile&object={object}&count={PAGE}"
                ))
                .await?;
            let (found, end) = parse_found(&page, &self.tz)?;
            newest = newest.max(end);
            if found < PAGE {
                break;
            }
        }
        Ok(newest)
    }
}

impl Adapter for Dahua {
    fn read(&self, now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all(now))
    }
}

/// `key=value` lines. A body of `Error` (with a reason on the next line)
/// is the device refusing the request.
pub fn parse_kv(body: &str) -> Result<Vec<(String, String)>, ProbeError> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    if let Some(first) = lines.clone().next() {
        if first.eq_ignore_ascii_case("Error") {
            let reason = lines.nth(1).unwrap_or("no reason given");
            return Err(ProbeError::Device(format!("recorder says Error: {reason}")));
        }
    }
    Ok(lines
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

pub fn get<'a>(kv: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kv.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `2018-6-11 8:00:00`: Dahua writes dates without leading zeros.
pub fn local(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    let (date, time) = text.trim().split_once(' ')?;
    let d: Vec<i16> = date.split('-').filter_map(|p| p.parse().ok()).collect();
    let t: Vec<i8> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    let (&[y, m, day], &[h, min, s]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    let civil = DateTime::new(
        y,
        i8::try_from(m).ok()?,
        i8::try_from(day).ok()?,
        h,
        min,
        s,
        0,
    )
    .ok()?;
    civil.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

/// Mode of channel `index` (from 0): 0 schedule and 1 manual record, 2 stops.
pub fn record_mode(kv: &[(String, String)], index: usize) -> Option<bool> {
    match get(kv, &format!("table.RecordMode[{index}].Mode"))? {
        "0" | "1" => Some(true),
        "2" => Some(false),
        _ => None,
    }
}

/// One disk per `list.info[n]`, with its partitions' bytes summed.
pub fn parse_disks(kv: &[(String, String)]) -> Vec<RecorderDisk> {
    let mut disks: Vec<RecorderDisk> = Vec::new();
    let mut errors: Vec<bool> = Vec::new();
    for (k, v) in kv {
        let Some(rest) = k.strip_prefix("list.info[") else {
            continue;
        };
        let Some((n, field)) = rest.split_once("].") else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        while disks.len() <= n {
            disks.push(RecorderDisk {
                id: disks.len().to_string(),
                ..RecorderDisk::default()
            });
            errors.push(false);
        }
        let bytes = || v.parse::<f64>().ok().map(|b| b as u64);
        let disk = &mut disks[n];
        match field.rsplit('.').next().unwrap_or(field) {
            "State" if !field.contains('[') => disk.status = v.clone(),
            "Name" if !field.contains('[') => disk.id = v.clone(),
            "TotalBytes" => {
                disk.capacity_bytes = Some(disk.capacity_bytes.unwrap_or(0) + bytes().unwrap_or(0))
            }
            "UsedBytes" => {
                disk.free_bytes = Some(disk.free_bytes.unwrap_or(0) + bytes().unwrap_or(0))
            }
            "IsError" if v == "true" => errors[n] = true,
            _ => {}
        }
    }
    for (disk, error) in disks.iter_mut().zip(errors) {
        // Until here `free_bytes` held the used bytes.
        disk.free_bytes = disk
            .capacity_bytes
            .zip(disk.free_bytes)
            .map(|(t, u)| t.saturating_sub(u));
        disk.healthy = disk.status == "Success" && !error;
        if error && disk.status == "Success" {
            disk.status = "IsError".into();
        }
    }
    disks
}

/// A findNextFile page: how many files, and the newest EndTime among them.
pub fn parse_found(
    kv: &[(String, String)],
    tz: &TimeZone,
) -> Result<(usize, Option<Timestamp>), ProbeError> {
    let found = get(kv, "found")
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| ProbeError::Parse("findNextFile gave no `found`".into()))?;
    let newest = kv
        .iter()
        .filter(|(k, _)| k.starts_with("items[") && k.ends_with("].EndTime"))
        .filter_map(|(_, v)| local(v, tz))
        .max();
    Ok((found, newest))
}

#[cfg(test)]
#[path = "dahua_tests.rs"]
mod tests;
