//! A fresh PostgreSQL database for one phase of a scenario, on the cluster
//! the libpq environment names (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! as `pg_virtualenv` sets them; `bench/run` starts one when it can), and the
//! CPU the cluster's processes use while the server writes to it.

use ronda_server::store::sql::{Connection, PgConfig};
use ronda_server::store::Location;

use super::procs::cpu_seconds;
use super::BenchError;

/// What the PostgreSQL rows say when there is no cluster to measure on.
pub const NOT_MEASURED: &str = "not measured: no PostgreSQL";

/// The cluster named by the environment.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// `postgres://user@host:port`, without a database or a password.
    base: String,
    password: Option<String>,
}

impl Cluster {
    /// The cluster from `PGHOST` (and `PGPORT`, `PGUSER`, `PGPASSWORD`), or
    /// `None` when `PGHOST` is unset.
    pub fn from_env() -> Option<Cluster> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let host = var("PGHOST")?;
        // A socket folder goes into the URL's host percent-encoded.
        let host = host.replace('/', "%2F");
        let port = var("PGPORT").unwrap_or_else(|| "5432".into());
        let user = var("PGUSER").unwrap_or_else(|| "postgres".into());
        Some(Cluster {
            base: format!("postgres://{user}@{host}:{port}"),
            password: var("PGPASSWORD"),
        })
    }

    fn config(&self, database: &str) -> PgConfig {
        PgConfig {
            url: format!("{}/{database}?sslmode=disable", self.base),
            password: self
                .password
                .clone()
                .map(|p| ronda_common::conf::Secret::new(p).into()),
            ca_file: None,
        }
    }

    fn admin(&self) -> Result<Connection, BenchError> {
        let config = self.config("postgres");
        Connection::postgres(&config)
            .map_err(|e| BenchError::Scenario(format!("PostgreSQL at {}: {e}", config.url)))
    }

    /// An empty database named `name`, dropped first if an earlier run left it.
    pub fn create(&self, name: &str) -> Result<PgDb, BenchError> {
        let admin = self.admin()?;
        let sql = |s: &str| {
            admin
                .execute_batch(s)
                .map_err(|e| BenchError::Scenario(format!("PostgreSQL: {s}: {e}")))
        };
        sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        sql(&format!("CREATE DATABASE {name}"))?;
        let postmaster = postmaster_pid(&admin);
        Ok(PgDb {
            cluster: self.clone(),
            name: name.to_owned(),
            postmaster,
        })
    }
}

/// A database that is dropped with this value.
pub struct PgDb {
    cluster: Cluster,
    name: String,
    /// The cluster's main process, when it runs on this machine.
    postmaster: Option<u32>,
}

impl PgDb {
    /// Where the server and the bench find it.
    pub fn location(&self) -> Location {
        Location::Postgres(self.cluster.config(&self.name))
    }

    /// The server config's `database:` section. The password stays in the
    /// environment, which the server inherits.
    pub fn yaml(&self) -> String {
        let password = if self.cluster.password.is_some() {
            "  password_env: PGPASSWORD\n"
        } else {
            ""
        };
        format!(
            "database:\n  url: {}\n{password}",
            self.cluster.config(&self.name).url
        )
    }

    /// CPU seconds of the cluster's processes (the main one, its backends
    /// and its writers), or 0 when the cluster is not on this machine.
    pub fn cpu_seconds(&self) -> f64 {
        let Some(postmaster) = self.postmaster else {
            return 0.0;
        };
        let children = children_of(postmaster);
        std::iter::once(postmaster)
            .chain(children)
            .filter_map(|pid| cpu_seconds(pid).ok())
            .sum()
    }
}

impl Drop for PgDb {
    /// Drop the database, closing what is still connected to it. A failure
    /// is only said: the cluster is a throwaway one.
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = self.cluster.admin().and_then(|admin| {
            admin
                .execute_batch(&sql)
                .map_err(|e| BenchError::Scenario(e.to_string()))
        });
        if let Err(e) = dropped {
            eprintln!("bench: PostgreSQL: {sql}: {e}");
        }
    }
}

/// The parent of this connection's backend: the cluster's main process, if
/// that backend is a process of this machine.
fn postmaster_pid(admin: &Connection) -> Option<u32> {
    let backend: i64 = admin
        .query_row("SELECT pg_backend_pid()", [], |r| r.get::<_, i64>(0))
        .ok()?;
    let status = std::fs::read_to_string(format!("/proc/{backend}/status")).ok()?;
    let ppid = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse::<u32>()
        .ok()?;
    // A backend's parent is a postgres process; anything else means the
    // pid belongs to another machine's cluster and matched by chance.
    let comm = std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
    comm.starts_with("postgres").then_some(ppid)
}

/// Processes whose parent is `parent`, from `/proc/*/stat`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|t| {
                    // After the bracketed name: state, then the parent's pid.
                    let rest = t.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}
