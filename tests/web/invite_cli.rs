//! `ronda-server user sync` as an admin runs it: the real `run` and `user
//! sync` processes on one config, the real SMTP server, real HTTP. The
//! token must appear in the head's mail and nowhere else: not in either
//! process's output (with debug logs on), not in the database files.

use std::path::Path;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::common::smtp::Smtp;
use crate::common::web::client;
use crate::common::{eventually, free_port, repo_file};
use crate::faults::binary;
use crate::faults::process::terminate;

const NEW_PW: &str = "pagar-besi-2026";

fn write_config(dir: &Path, http: u16, mqtt: u16, smtp: &Smtp) -> std::path::PathBuf {
    std::fs::copy(repo_file("examples/offices.yaml"), dir.join("offices.yaml")).unwrap();
    let yaml = format!(
        "http:\n  listen: 127.0.0.1:{http}\nbroker:\n  embedded:\n    listen: 127.0.0.1:{mqtt}\n\
         database:\n  path: ronda.db\noffices: offices.yaml\nmail:\n  from: Ronda <ronda@kotim.example.go.id>\n  \
         dashboard_url: http://127.0.0.1:{http}\n  smtp:\n    host: 127.0.0.1\n    port: {}\n    tls: none\n",
        smtp.addr.port()
    );
    let path = dir.join("server.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_syncs_and_a_head_sets_a_password_with_the_token_nowhere_else() {
    let smtp = Smtp::start();
    let dir = tempfile::tempdir().unwrap();
    let http = free_port();
    let config = write_config(dir.path(), http, free_port(), &smtp);
    let log = dir.path().join("server.log");
    let config_arg = config.to_str().unwrap();
    let mut server = Command::new(binary("ronda-server"))
        .args(["run", "--config", config_arg])
        .env("RUST_LOG", "debug,rumqttd=off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{http}");
    eventually("the server to answer", || async {
        let r = client().get(format!("{base}/healthz")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;

    let sync = Command::new(binary("ronda-server"))
        .args(["user", "sync", "--config", config_arg])
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let sync_out = format!(
        "{}{}",
        String::from_utf8_lossy(&sync.stdout),
        String::from_utf8_lossy(&sync.stderr)
    );
    assert!(sync.status.success(), "{sync_out}");
    assert!(
        sync_out.contains("3 accounts created, 3 links queued"),
        "{sync_out}"
    );

    let mail = eventually("the head's mail", || async {
        smtp.received()
            .into_iter()
            .find(|m| m.to == ["kepala@dinkes.example.go.id"])
    })
    .await;
    let body = mail.data.replace("=\r\n", "").replace("=\n", "");
    assert!(body.contains("kepala-dinkes"), "{body}");
    let at = body.find("/password/").unwrap() + "/password/".len();
    let token = body[at..at + 64].to_owned();

    let page = client()
        .get(format!("{base}/password/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let set = client()
        .post(format!("{base}/password"))
        .form(&[
            ("token", token.as_str()),
            ("password", NEW_PW),
            ("again", NEW_PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let login = client()
        .post(format!("{base}/login"))
        .form(&[("name", "kepala-dinkes"), ("password", NEW_PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let again = client()
        .get(format!("{base}/password/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    terminate(&mut server);

    let server_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        server_log.contains("message sent"),
        "debug logs were on: {server_log}"
    );
    assert!(
        !server_log.contains(&token),
        "the token is in the server's log"
    );
    assert!(!sync_out.contains(&token));
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let path = f.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "the token is in {}", path.display());
        }
    }
}
