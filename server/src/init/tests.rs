//! `init`'s files: they load as `check` loads them, nothing is written when
//! an answer is refused, and nothing is replaced without `force`.

use super::*;

const PW: &str = "lampu-merah-7";

fn answers(dir: &Path) -> Answers {
    Answers {
        url: "https://ronda.kotim.go.id".into(),
        listen: "[::1]:8080".parse().unwrap(),
        database: dir.join("state/ronda.db"),
        region: "Kabupaten Kotawaringin Timur".into(),
        timezone: "Asia/Jakarta".into(),
        mail: Some(MailAnswers {
            host: "smtp.kotim.go.id".into(),
            port: None,
            tls: "starttls".into(),
            username: Some("ronda".into()),
            password_file: format!("$CREDENTIALS_DIRECTORY/{SMTP_CREDENTIAL}"),
            ca_file: None,
            from: "Ronda Kotim <ronda@kotim.go.id>".into(),
            language: "id".into(),
        }),
        offices: vec![OfficeAnswer::parse(
            "dinkes:Dinas Kesehatan: Kab. Kotim:kepala@dinkes.kotim.go.id",
        )
        .unwrap()],
        admin: "admin".into(),
    }
}

#[test]
fn the_written_files_load_and_the_admin_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let w = write(&etc, &answers(dir.path()), PW, false).unwrap();
    let c = load(&w.server_yaml).unwrap();
    let reg = c.registry.unwrap();
    assert_eq!(reg.offices["dinkes"].name, "Dinas Kesehatan: Kab. Kotim");
    assert_eq!(c.http_listen.to_string(), "[::1]:8080");
    let mail = c.mail.unwrap();
    assert_eq!(mail.dashboard_url, "https://ronda.kotim.go.id");
    let text = std::fs::read_to_string(&w.server_yaml).unwrap();
    assert!(
        text.contains("password_file: $CREDENTIALS_DIRECTORY/smtp-password"),
        "{text}"
    );
    assert!(!text.contains(PW));
    let conn = crate::store::open(&w.database).unwrap();
    assert!(users::authenticate(&conn, "admin", PW).unwrap().is_some());
    assert!(w.letters.is_dir());
    let left: Vec<_> = std::fs::read_dir(&etc)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "no staging folder left: {left:?}");
}

#[test]
fn nothing_is_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    write(&etc, &answers(dir.path()), PW, false).unwrap();
    let err = write(&etc, &answers(dir.path()), PW, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.yaml exists; give --force"), "{err}");
    write(&etc, &answers(dir.path()), "pagar-besi-2026", true).unwrap();
    let conn = crate::store::open(&dir.path().join("state/ronda.db")).unwrap();
    assert!(users::authenticate(&conn, "admin", "pagar-besi-2026")
        .unwrap()
        .is_some());
}

#[test]
fn a_refused_answer_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let mut a = answers(dir.path());
    a.timezone = "Asia/Bandung".into();
    let err = write(&etc, &a, PW, false).unwrap_err().to_string();
    assert!(
        err.contains("region.timezone") && err.contains("Asia/Bandung"),
        "{err}"
    );
    let mut a = answers(dir.path());
    a.offices[0].id = "Dinas Kesehatan".into();
    assert!(write(&etc, &a, PW, false).is_err());
    assert!(matches!(
        write(&etc, &answers(dir.path()), "pendek", false),
        Err(InitError::Admin(_))
    ));
    let left: Vec<_> = std::fs::read_dir(&etc).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(!dir.path().join("state").exists());
}

#[test]
fn without_mail_or_offices_the_files_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = answers(dir.path());
    a.mail = None;
    a.offices.clear();
    let w = write(&dir.path().join("etc"), &a, PW, false).unwrap();
    let c = load(&w.server_yaml).unwrap();
    assert!(c.mail.is_none() && c.registry.unwrap().offices.is_empty());
}

#[test]
fn the_office_flag_wants_three_parts() {
    assert!(OfficeAnswer::parse("dinkes:kepala@x.go.id").is_err());
    assert!(OfficeAnswer::parse("dinkes::kepala@x.go.id").is_err());
    let o = OfficeAnswer::parse("bappeda:Badan Perencanaan:kepala@bappeda.go.id").unwrap();
    assert_eq!(
        (o.id.as_str(), o.head_name.as_str()),
        ("bappeda", "Kepala Badan Perencanaan")
    );
}
