//! A throwaway PostgreSQL database for one test, on the cluster named by the
//! libpq environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`). CI runs
//! the tests inside `pg_virtualenv`, which starts a cluster and sets those.
//! Without them a test skips, unless `RONDA_REQUIRE_POSTGRES=1` (as in CI),
//! where it fails.

use std::sync::atomic::{AtomicU32, Ordering};

/// A database created for one test and dropped with this value.
#[derive(Debug)]
pub struct TempDb {
    /// `postgres://user@host:port/name?sslmode=disable`, without the password.
    pub url: String,
    /// The cluster's password (`PGPASSWORD`), if it has one.
    pub password: Option<String>,
    name: String,
    admin: String,
}

/// The cluster from the environment, or `None` (after failing the test
/// when PostgreSQL is required).
pub fn cluster() -> Option<(String, Option<String>)> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(host), Some(port)) = (var("PGHOST"), var("PGPORT")) else {
        if std::env::var("RONDA_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("RONDA_REQUIRE_POSTGRES=1 but PGHOST/PGPORT are unset: run the tests inside `pg_virtualenv`");
        }
        skipped();
        return None;
    };
    let user = var("PGUSER").unwrap_or_else(|| "postgres".into());
    Some((
        format!("postgres://{user}@{host}:{port}"),
        var("PGPASSWORD"),
    ))
}

impl TempDb {
    /// A new empty database, or `None` when there is no cluster (see [`cluster`]).
    pub fn new() -> Option<TempDb> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let (base, password) = cluster()?;
        let name = format!(
            "ronda_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = format!("{base}/postgres?sslmode=disable");
        admin_sql(
            &admin,
            password.as_deref(),
            &format!("CREATE DATABASE {name}"),
        );
        Some(TempDb {
            url: format!("{base}/{name}?sslmode=disable"),
            password,
            name,
            admin,
        })
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        admin_sql(
            &self.admin,
            self.password.as_deref(),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Run one statement on the admin database. On a thread of its own: the
/// blocking driver may not run inside a test's tokio runtime.
fn admin_sql(url: &str, password: Option<&str>, sql: &str) {
    let (url, password, sql) = (url.to_owned(), password.map(str::to_owned), sql.to_owned());
    std::thread::spawn(move || {
        let mut config: postgres::Config = url.parse().expect("PostgreSQL URL");
        if let Some(p) = password {
            config.password(p);
        }
        let mut client = config
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
        client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    })
    .join()
    .expect("PostgreSQL admin thread");
}

/// Say that this test's PostgreSQL part was skipped, and leave the marker
/// file `.ci/test` counts (`RONDA_SKIPPED_DIR`), as the Mosquitto and
/// browser tests do.
fn skipped() {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unknown-test");
    println!("SKIPPED: {test} on PostgreSQL (no cluster: run inside `pg_virtualenv`)");
    if let Some(dir) = std::env::var_os("RONDA_SKIPPED_DIR") {
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let marker = dir.join(format!("{}.postgres", test.replace("::", ".")));
        let _ = std::fs::write(marker, "no PostgreSQL cluster\n");
    }
}
