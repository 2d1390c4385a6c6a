//! The real `ronda-server` binary and real SIGHUPs (`systemctl reload`):
//! a new letter file is read, a broken one keeps the old set and is named
//! in the log and on the letters page, and a burst of signals at once
//! neither stops the server nor leaves it on a half-read set.

use std::path::Path;
use std::process::{Child, Command};

use crate::common::db::TestDb;
use crate::common::{eventually, free_port};
use crate::e2e::reload::{letter_yaml, registry_yaml};

use super::process::{spawn, terminate};
use super::tail;

const TOKEN: &str = "reload-test-admin-token-0123";

/// `kill -HUP` through the shell, `times` times in one go.
fn hangup(child: &Child, times: usize) {
    let script = format!("for i in $(seq {times}); do kill -HUP {}; done", child.id());
    let ok = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(ok.success(), "kill -HUP failed");
}

fn config(dir: &Path, http: u16, db: &TestDb) {
    let mqtt = free_port();
    let yaml = format!(
        "http:\n  listen: 127.0.0.1:{http}\nbroker:\n  embedded:\n    listen: 127.0.0.1:{mqtt}\n\
         {}policies: letters\noffices: offices.yaml\napi:\n  admin_token: {TOKEN}\n",
        db.yaml()
    );
    std::fs::write(dir.join("server.yaml"), yaml).unwrap();
    std::fs::create_dir(dir.join("letters")).unwrap();
    std::fs::write(dir.join("offices.yaml"), registry_yaml(&["dinkes"])).unwrap();
}

/// GET `path` as the admin: the status and the body.
async fn get(base: &str, path: &str) -> Option<(u16, String)> {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .ok()?;
    Some((r.status().as_u16(), r.text().await.ok()?))
}

/// The ids `/api/v1/letters` lists, sorted.
async fn letters(base: &str) -> Option<Vec<String>> {
    let (_, body) = get(base, "/api/v1/letters").await?;
    let list: serde_json::Value = serde_json::from_str(&body).ok()?;
    let mut ids: Vec<String> = list
        .as_array()?
        .iter()
        .filter_map(|l| Some(l["id"].as_str()?.to_owned()))
        .collect();
    ids.sort();
    Some(ids)
}

async fn wait_letters(base: &str, want: &[&str], child: &mut Child, log: &Path) {
    eventually(&format!("letters {want:?} in force"), || {
        let exited = child.try_wait().unwrap();
        async move {
            if let Some(status) = exited {
                panic!("ronda-server exited ({status}):\n{}", tail(log, 30));
            }
            (letters(base).await? == want).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_letters_and_a_broken_file_keeps_the_old_set() {
    let dir = tempfile::tempdir().unwrap();
    let http = free_port();
    let db = TestDb::from_env(dir.path());
    config(dir.path(), http, &db);
    std::fs::write(dir.path().join("letters/a.yaml"), letter_yaml("a", "all")).unwrap();
    let log = dir.path().join("server.log");
    let conf = dir.path().join("server.yaml");
    let mut child = spawn(
        "ronda-server",
        &["run", "--config", conf.to_str().unwrap()],
        &log,
    );
    let base = format!("http://127.0.0.1:{http}");
    let (b, l) = (base.as_str(), log.as_path());
    eventually("the server up", || {
        let exited = child.try_wait().unwrap();
        async move {
            if let Some(status) = exited {
                panic!("ronda-server exited ({status}):\n{}", tail(l, 30));
            }
            (get(b, "/healthz").await?.0 == 200).then_some(())
        }
    })
    .await;
    assert_eq!(letters(&base).await.unwrap(), ["a"]);

    // The next holiday's letter is a new file.
    std::fs::write(dir.path().join("letters/b.yaml"), letter_yaml("b", "all")).unwrap();
    hangup(&child, 1);
    wait_letters(&base, &["a", "b"], &mut child, &log).await;

    // A broken file: the old set stays, the log and the page say why.
    let broken = letter_yaml("c", "all").replace("kind: service.up", "kind: service.upp");
    std::fs::write(dir.path().join("letters/c.yaml"), broken).unwrap();
    hangup(&child, 1);
    let c_file = dir.path().join("letters/c.yaml").display().to_string();
    eventually("the refusal in the log", || async {
        let text = std::fs::read_to_string(&log).ok()?;
        (text.contains("reload refused") && text.contains(&format!("{c_file}:"))).then_some(())
    })
    .await;
    assert_eq!(letters(&base).await.unwrap(), ["a", "b"]);
    let (_, page) = get(&base, "/").await.unwrap();
    assert!(page.contains("Muat ulang surat edaran ditolak"), "{page}");
    // The page escapes the path's slashes: look for its end.
    assert!(page.contains("c.yaml:13:12: "), "{page}");

    // Fifty signals at once, the file fixed in the middle of them.
    hangup(&child, 25);
    std::fs::write(dir.path().join("letters/c.yaml"), letter_yaml("c", "all")).unwrap();
    hangup(&child, 25);
    wait_letters(&base, &["a", "b", "c"], &mut child, &log).await;
    assert!(child.try_wait().unwrap().is_none(), "{}", tail(&log, 30));
    let (status, _) = get(&base, "/healthz").await.unwrap();
    assert_eq!(status, 200);
    // The last word is the fixed set: the banner is gone.
    eventually("the banner gone", || async {
        let (_, page) = get(&base, "/").await?;
        (!page.contains("Muat ulang surat edaran ditolak")).then_some(())
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    let reloads = text.matches("SIGHUP: reading the letters").count();
    eprintln!("FIGURE 52 SIGHUPs to the real binary: {reloads} reloads run");
    assert!((3..=52).contains(&reloads), "{reloads}");

    terminate(&mut child);
    assert!(child.wait().unwrap().success(), "{}", tail(&log, 30));
}
