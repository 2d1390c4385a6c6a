//! Upgrades: a server database and an agent outbox written by the previous
//! release (`tests/fixtures/upgrade/`, made by the `make.sh` there with that
//! release's own binaries) open under this build with nothing lost. Each
//! test works on a copy: the committed files never change.

mod agent;
mod pages;
mod server;

use std::path::{Path, PathBuf};

use crate::common::repo_file;

/// A file of `tests/fixtures/upgrade/`.
fn fixture(name: &str) -> PathBuf {
    repo_file("tests/fixtures/upgrade").join(name)
}

/// A copy of the fixture `name` at `to` (the fixtures have no `-wal` or
/// `-shm` beside them: make.sh checkpoints them whole).
fn copy(name: &str, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(fixture(name), to).unwrap();
    to.to_owned()
}

/// The schema version this build migrates to: that of a new database.
/// Compared with, never written down, so a new migration needs no edit here.
fn current_schema() -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(ronda_server::store::open(&path).unwrap());
    user_version(&rusqlite::Connection::open(&path).unwrap())
}

fn count(conn: &rusqlite::Connection, q: &str) -> i64 {
    conn.query_row(q, [], |r| r.get(0)).unwrap()
}

fn strings(conn: &rusqlite::Connection, q: &str) -> Vec<String> {
    let mut stmt = conn.prepare(q).unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn user_version(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// Text as the pages' templates print it (minijinja's HTML escaping).
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}
