//! `ronda-agent enroll --check` against the server's embedded broker and its
//! gate: a good credential is accepted and the files written; a refused
//! password is said plainly and nothing is written.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use ronda_wire::Id;

use crate::common::spawn_app;
use crate::faults::binary;

fn enroll(broker: &str, dir: &std::path::Path, password: &str) -> Output {
    let out = dir.join("agent.yaml");
    let cred = dir.join("mqtt-password");
    let mut child = Command::new(binary("ronda-agent"))
        .args([
            "enroll",
            "--check",
            "--broker",
            broker,
            "--office",
            "dinkes",
            "--agent",
            "kantor-utama",
        ])
        .args(["--password-file", "-", "--no-credentials-directory"])
        .arg("--out")
        .arg(&out)
        .arg("--credential")
        .arg(&cred)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{password}").unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn enroll_check_logs_in_with_the_credential_and_names_a_refused_password() {
    let app = spawn_app().await;
    let conn = crate::common::db::open(&app.db);
    let (office, agent) = (Id::new("dinkes").unwrap(), Id::new("kantor-utama").unwrap());
    let password = ronda_server::store::users::mqtt::add(&conn, &office, &agent, 0).unwrap();
    let broker = app.broker.to_string();

    let dir = tempfile::tempdir().unwrap();
    let wrong = tokio::task::spawn_blocking({
        let (broker, dir) = (broker.clone(), dir.path().to_owned());
        move || enroll(&broker, &dir, "bukan-sandinya-9")
    })
    .await
    .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong).contains("refused the password of dinkes/kantor-utama"),
        "{}",
        text(&wrong)
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );

    let good = tokio::task::spawn_blocking({
        let (broker, dir) = (broker.clone(), dir.path().to_owned());
        move || enroll(&broker, &dir, &password)
    })
    .await
    .unwrap();
    assert!(good.status.success(), "{}", text(&good));
    assert!(text(&good).contains("the broker accepted dinkes/kantor-utama"));
    let config = ronda_agent::AgentConfig::load(&dir.path().join("agent.yaml")).unwrap();
    assert_eq!(config.broker.url, app.broker);
}
