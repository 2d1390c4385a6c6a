//! The database a test server keeps its state in: a SQLite file, or with
//! `RONDA_TEST_DB=postgres` a throwaway PostgreSQL database (`.ci/test` runs
//! the store-heavy tests a second time so), and reading it back through the
//! store's own connection, which opens either.
//!
//! Some tests keep a SQLite file whatever the switch: `faults::backup` (it
//! copies the file), the upgrade tests (their fixtures are old SQLite
//! files), and the real binaries started on a config file of their own
//! (`web::invite_cli`, which looks for secrets in the files; `mail_tls`).

use std::path::Path;

use ronda_server::store::sql::{Connection, PgConfig};
use ronda_server::store::Location;
use ronda_testkit::postgres::TempDb;

/// The switch: `postgres`, or `sqlite` (the default).
pub const SWITCH: &str = "RONDA_TEST_DB";

/// One test's database; dropped (with its [`super::TestApp`]), a
/// PostgreSQL one is deleted. A SQLite file goes with the test's folder.
pub struct TestDb {
    pub location: Location,
    _pg: Option<TempDb>,
}

impl TestDb {
    /// The database `RONDA_TEST_DB` asks for; a SQLite file in `dir` by
    /// default. With the switch on and no cluster the test fails under
    /// `RONDA_REQUIRE_POSTGRES=1` (as `TempDb` does), else it is marked as
    /// skipped on PostgreSQL and runs on SQLite after all.
    pub fn from_env(dir: &Path) -> TestDb {
        match std::env::var(SWITCH).as_deref() {
            Ok("postgres") => TempDb::new().map_or_else(|| TestDb::sqlite(dir), TestDb::postgres),
            Ok("sqlite") | Ok("") | Err(_) => TestDb::sqlite(dir),
            Ok(other) => panic!("{SWITCH}={other}: expected `sqlite` or `postgres`"),
        }
    }

    /// A SQLite file in `dir`, whatever the switch says: for the tests
    /// about SQLite itself (file backups, upgrade fixtures, file faults).
    pub fn sqlite(dir: &Path) -> TestDb {
        TestDb {
            location: Location::File(dir.join("ronda.db")),
            _pg: None,
        }
    }

    /// The `database:` section of a `server.yaml` for this database, for
    /// a real `ronda-server` process; it takes the PostgreSQL password from
    /// `PGPASSWORD`, which it inherits from the test.
    pub fn yaml(&self) -> String {
        match &self.location {
            Location::File(path) => format!("database:\n  path: {}\n", path.display()),
            Location::Postgres(pg) => {
                let password = match pg.password {
                    Some(_) => "  password_env: PGPASSWORD\n",
                    None => "",
                };
                format!("database:\n  url: {}\n{password}", pg.url)
            }
        }
    }

    /// A throwaway PostgreSQL database whatever the switch says, for the
    /// tests of servers that share one; `None` (skip) as [`TempDb::new`].
    pub fn postgres_only() -> Option<TestDb> {
        TempDb::new().map(TestDb::postgres)
    }

    fn postgres(pg: TempDb) -> TestDb {
        let password = pg.password.clone();
        TestDb {
            location: Location::Postgres(PgConfig {
                url: pg.url.clone(),
                password: password.map(|p| ronda_common::conf::Secret::new(p).into()),
                ca_file: None,
            }),
            _pg: Some(pg),
        }
    }
}

/// The test server's database, opened (and migrated) as the server does.
pub fn open(db: impl Into<Location>) -> Connection {
    let db = db.into();
    db.open().unwrap_or_else(|e| panic!("database {db}: {e}"))
}

/// A query's single answer (e.g. a count), from the server's database;
/// read-only, so it never changes a file it looks at (a backup's copy).
pub fn sql(db: impl Into<Location>, q: &str) -> i64 {
    let db = db.into();
    let conn = db
        .open_read_only()
        .unwrap_or_else(|e| panic!("database {db}: {e}"));
    conn.query_row(q, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{q}: {e}"))
}
