//! `ronda-server backup` (the real binary) beside a server whose agents
//! keep reporting: the copy opens, passes its integrity check, holds every
//! report committed before it began and is one consistent moment; an
//! existing file is replaced only with `--force`.

use std::process::Command;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use ronda_agent::outbox::{Limits, Outbox, Sync};
use tokio_util::sync::CancellationToken;

use crate::common::{eventually, spawn_sqlite, sql};

use super::{binary, run_counted};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_agents_report_holds_everything_committed_before_it() {
    // `backup` copies a SQLite file (PostgreSQL has pg_dump for that).
    let app = spawn_sqlite(|_| {}).await;
    let made = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let agents: Vec<_> = ["dinkes", "bappeda", "dishub"]
        .iter()
        .map(|o| {
            let mut config = app.agent_config(o, "gw");
            config.interval = std::time::Duration::from_millis(10);
            let dir = app.dir.path().join(format!("outbox-{o}"));
            let outbox = Outbox::open(&dir, Limits::default(), Sync::Off).unwrap().0;
            run_counted(config, o, &made, outbox, stop.clone())
        })
        .collect();
    eventually("reports committed", || async {
        (sql(&app.db, "SELECT count(*) FROM reports") >= 200).then_some(())
    })
    .await;
    let yaml = format!("database:\n  path: {}\n", app.db);
    let config = app.dir.path().join("backup.yaml");
    std::fs::write(&config, yaml).unwrap();
    let copy = app.dir.path().join("ronda-copy.db");
    let backup = |force: bool| {
        let mut args = vec![
            "backup",
            "--config",
            config.to_str().unwrap(),
            copy.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        Command::new(binary("ronda-server"))
            .args(&args)
            .output()
            .unwrap()
    };

    let before = sql(&app.db, "SELECT count(*) FROM reports");
    let out = backup(false);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("integrity ok"), "{stdout}");
    assert!(
        stdout.contains("signatures: 0 rows") && stdout.contains("audit: "),
        "{stdout}"
    );
    let size = std::fs::metadata(&copy).unwrap().len();
    assert!(stdout.contains(&format!("{size} bytes")), "{stdout}");
    let stored = sql(&copy, "SELECT count(*) FROM reports");
    assert!(
        stored >= before,
        "{stored} in the copy, {before} committed before it"
    );
    // One moment: each agent's latest report is the newest of its history.
    let disagree = sql(
        &copy,
        "SELECT count(*) FROM agents a WHERE a.last_seq != (SELECT max(seq) FROM reports r WHERE r.office = a.office AND r.agent = a.agent)",
    );
    assert_eq!(disagree, 0);

    // Again: refused without --force, the copy untouched; taken with it.
    let again = backup(false);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already exists; give --force"), "{err}");
    assert_eq!(sql(&copy, "SELECT count(*) FROM reports"), stored);
    let forced = backup(true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(sql(&copy, "SELECT count(*) FROM reports") >= stored);

    stop.cancel();
    for a in agents {
        a.await.unwrap();
    }
    app.stop().await;
}
