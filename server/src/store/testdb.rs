//! The databases the store's tests run against: a SQLite file always, and
//! a throwaway PostgreSQL database when a cluster is at hand (in CI always:
//! `RONDA_REQUIRE_POSTGRES=1` fails a run without one).

use ronda_testkit::postgres::TempDb;

use super::sql::{Connection, PgConfig};
use super::Location;

/// One database for one test; dropped, it is deleted.
pub struct TestDb {
    pub location: Location,
    _dir: tempfile::TempDir,
    _pg: Option<TempDb>,
}

impl TestDb {
    pub fn open(&self) -> Connection {
        self.location.open().unwrap()
    }
}

/// A fresh SQLite database and, when there is a cluster, a fresh PostgreSQL one.
pub fn all() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![TestDb {
        location: Location::File(dir.path().join("test.db")),
        _dir: dir,
        _pg: None,
    }];
    if let Some(pg) = TempDb::new() {
        out.push(TestDb {
            location: Location::Postgres(PgConfig {
                url: pg.url.clone(),
                password: pg
                    .password
                    .clone()
                    .map(|p| ronda_common::conf::Secret::new(p).into()),
                ca_file: None,
            }),
            _dir: tempfile::tempdir().unwrap(),
            _pg: Some(pg),
        });
    }
    out
}

/// Each fresh database of [`all`], opened and migrated.
pub fn each() -> Vec<(TestDb, Connection)> {
    all()
        .into_iter()
        .map(|db| {
            let conn = db.open();
            (db, conn)
        })
        .collect()
}
