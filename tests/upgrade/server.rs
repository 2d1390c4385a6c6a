//! The previous release's server database under this build: migrated to
//! this schema with every row kept (`pages.rs` reads them back over HTTP),
//! and a database from a newer Ronda refused and left as it was.

use rusqlite::Connection;

use super::{copy, count, current_schema, strings, user_version};

/// The tables a year of use fills. The fixture must hold rows in each, or
/// the test would prove nothing for it: make.sh drives the old server until
/// it does.
const FILLED: [&str; 15] = [
    "agents",
    "reports",
    "presence",
    "alerts",
    "alert_transitions",
    "alert_notify",
    "outbox",
    "signatures",
    "attestations",
    "users",
    "sessions",
    "audit",
    "commands",
    "mqtt_users",
    "door_events",
];

/// The schema the fixture was written at (the release before this one).
const FIXTURE_SCHEMA: i64 = 11;

/// Every table of schema `db` (`main` or an attached one), with its columns.
fn tables(conn: &Connection, db: &str) -> Vec<(String, Vec<String>)> {
    let names = strings(
        conn,
        &format!("SELECT name FROM {db}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"),
    );
    names
        .into_iter()
        .map(|t| {
            let cols = strings(
                conn,
                &format!("SELECT name FROM pragma_table_info('{t}', '{db}')"),
            );
            (t, cols)
        })
        .collect()
}

#[test]
fn the_old_database_migrates_to_this_schema_with_every_row_kept() {
    let dir = tempfile::tempdir().unwrap();
    let old = copy("server.db", &dir.path().join("old.db"));
    let db = copy("server.db", &dir.path().join("ronda.db"));
    let current = current_schema();
    assert_eq!(
        user_version(&Connection::open(&old).unwrap()),
        FIXTURE_SCHEMA
    );
    assert!(FIXTURE_SCHEMA <= current);

    // Opened by the server (which migrates it), then read as a plain file.
    drop(ronda_server::store::open(&db).unwrap());
    let conn = Connection::open(&db).unwrap();
    assert_eq!(user_version(&conn), current, "not migrated to this schema");
    conn.execute("ATTACH ?1 AS old", [old.to_str().unwrap()])
        .unwrap();
    let old_tables = tables(&conn, "old");
    for table in FILLED {
        let n = count(&conn, &format!("SELECT count(*) FROM old.{table}"));
        assert!(n > 0, "the fixture has no {table}: regenerate it (make.sh)");
    }
    // Every row, in every column the old release had, is still there.
    for (table, cols) in &old_tables {
        let cols = cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let lost = count(
            &conn,
            &format!(
                "SELECT count(*) FROM (SELECT {cols} FROM old.\"{table}\"
                 EXCEPT SELECT {cols} FROM main.\"{table}\")"
            ),
        );
        let (was, is) = (
            count(&conn, &format!("SELECT count(*) FROM old.\"{table}\"")),
            count(&conn, &format!("SELECT count(*) FROM main.\"{table}\"")),
        );
        assert_eq!(
            (lost, is),
            (0, was),
            "{table}: {lost} of {was} rows changed or lost, {is} now"
        );
    }
    let check: String = conn
        .query_row("PRAGMA main.integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_ronda_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = copy("server.db", &dir.path().join("ronda.db"));
    let (current, newer) = (current_schema(), current_schema() + 1);
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let before = std::fs::read(&db).unwrap();

    let config = ronda_server::ServerConfig::local(db.clone());
    let refused = ronda_server::start(config, tokio_util::sync::CancellationToken::new())
        .await
        .err()
        .expect("a database from a newer Ronda was opened");
    assert_eq!(
        refused.to_string(),
        format!("database schema version {newer} is newer than this Ronda knows ({current}); upgrade Ronda")
    );
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the refused database was changed"
    );
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["ronda.db"], "left beside it");
}
