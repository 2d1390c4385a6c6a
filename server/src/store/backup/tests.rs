//! Tests of `backup`: a copy taken while the live writer commits holds
//! everything committed before it began and is one consistent moment; an
//! existing file or the database's own files are never replaced by mistake.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::store::sql::Connection;
use crate::store::{Db, Reader, Write};

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// What the evidence writer had committed: audit rows and signed offices.
#[derive(Default, Clone)]
struct Committed {
    audit: i64,
    signed: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_taken_during_ingest_has_everything_committed_before_it_began() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ronda.db");
    let writer = crate::store::spawn_writer(
        crate::store::open(&path).unwrap(),
        crate::metrics::Metrics::new(),
        1_000,
        None,
    )
    .unwrap();
    let db = Db::new(Reader::open(&path).unwrap(), &writer.tx);
    let stop = Arc::new(AtomicBool::new(false));

    // Ingest: reports without pause until told to stop; says when its
    // first 2,000 are committed.
    let (tx, halt) = (writer.tx.clone(), stop.clone());
    let (ingesting, ingest_ready) = tokio::sync::oneshot::channel();
    let ingest = tokio::spawn(async move {
        let mut ready = Some(ingesting);
        let mut seq = 0u64;
        while !halt.load(Ordering::Relaxed) {
            seq += 1;
            let body = format!("{{\"seq\":{seq}}}");
            let w = Write::Report {
                office: "dinkes".into(),
                agent: "gw".into(),
                seq,
                observed_ms: seq as i64,
                received_ms: crate::store::now_ms(),
                body,
                delivery: None,
            };
            tx.send(w).await.unwrap();
            if seq == 2_000 {
                let (done, wait) = tokio::sync::oneshot::channel();
                tx.send(Write::Flush(done)).await.unwrap();
                wait.await.unwrap();
                let _ = ready.take().map(|r| r.send(()));
            }
        }
        seq
    });
    // The web side: an audit line and a signature at a time, each noted
    // once its write has returned (committed); says when 20 are.
    let committed = Arc::new(Mutex::new(Committed::default()));
    let (evidence, noted, halt) = (db.clone(), committed.clone(), stop.clone());
    let (signing, signer_ready) = tokio::sync::oneshot::channel();
    let signer = tokio::spawn(async move {
        let mut ready = Some(signing);
        let mut i = 0;
        while !halt.load(Ordering::Relaxed) {
            i += 1;
            let office = format!("office-{i}");
            let o = office.clone();
            evidence
                .write(move |c| {
                    crate::store::audit::append(c, Some("kepala"), "letter.sign", &o, None, i)?;
                    c.execute(
                        "INSERT INTO signatures (letter, office, by, at_ms) VALUES ('kotim', ?1, 'kepala', ?2)",
                        crate::params![o, i],
                    )
                })
                .await
                .unwrap()
                .unwrap();
            let mut n = noted.lock().unwrap();
            n.audit = i;
            n.signed.push(office);
            if i == 20 {
                let _ = ready.take().map(|r| r.send(()));
            }
        }
    });
    ingest_ready.await.unwrap();
    signer_ready.await.unwrap();

    let before = committed.lock().unwrap().clone();
    let dest = dir.path().join("copy.db");
    let (src, to) = (path.clone(), dest.clone());
    let copy = tokio::task::spawn_blocking(move || backup(&src, &to, false))
        .await
        .unwrap()
        .unwrap();
    // Both writers ran all along the copy; only now are they stopped.
    stop.store(true, Ordering::Relaxed);
    let sent = ingest.await.unwrap();
    signer.await.unwrap();

    let c = Connection::from(rusqlite::Connection::open(&dest).unwrap());
    // Everything committed before the copy began is in it.
    let audit = count(&c, "SELECT count(*) FROM audit");
    assert!(audit >= before.audit, "{audit} < {}", before.audit);
    assert_eq!(
        count(&c, "SELECT max(id) FROM audit"),
        audit,
        "no hole in the audit log"
    );
    for office in &before.signed {
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM signatures WHERE office = ?1",
                [office],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "signature of {office} missing");
    }
    // One moment: the latest report and the history agree, with no hole.
    let last = count(&c, "SELECT last_seq FROM agents WHERE agent = 'gw'");
    assert_eq!(count(&c, "SELECT max(seq) FROM reports"), last);
    assert_eq!(count(&c, "SELECT count(*) FROM reports"), last);
    assert!(last >= 2_000 && last <= sent as i64);
    assert_eq!(copy.rows[1], ("audit", audit));
    assert_eq!(copy.schema, crate::store::schema::version() as i64);
    assert_eq!(copy.bytes, std::fs::metadata(&dest).unwrap().len());
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn an_existing_file_and_the_databases_own_files_are_never_replaced_by_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ronda.db");
    let conn = crate::store::open(&path).unwrap();
    crate::store::audit::append(&conn, None, "user.add", "x", None, 1).unwrap();
    let dest = dir.path().join("copy.db");
    backup(&path, &dest, false).unwrap();

    let again = backup(&path, &dest, false).unwrap_err();
    assert!(matches!(again, BackupError::Exists(_)), "{again}");
    assert!(again.to_string().contains("give --force"), "{again}");
    backup(&path, &dest, true).unwrap();

    // The live database, its WAL (open, so it exists) and a link to it.
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let wal = dir.path().join("ronda.db-wal");
    assert!(wal.exists());
    let odd = dir.path().join(".").join("ronda.db");
    for own in [&path, &wal, &link, &odd] {
        let e = backup(&path, own, true).unwrap_err();
        assert!(
            matches!(e, BackupError::SameFile(_)),
            "{}: {e}",
            own.display()
        );
    }
    assert_eq!(count(&conn, "SELECT count(*) FROM audit"), 1);

    // A wrong database path leaves nothing behind.
    let missing = dir.path().join("nope.db");
    let e = backup(&missing, &dir.path().join("c2.db"), false).unwrap_err();
    assert!(matches!(e, BackupError::NoDatabase(_)), "{e}");
    assert!(!missing.exists());
    // No temporary file is left either.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(unix)]
#[test]
fn the_copy_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ronda.db");
    drop(crate::store::open(&path).unwrap());
    let dest = dir.path().join("copy.db");
    backup(&path, &dest, false).unwrap();
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}
