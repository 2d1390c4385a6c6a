//! The PostgreSQL side of [`super::Connection`]: connecting (TLS through
//! rustls on ring, as the server's other links), statements prepared once
//! per connection, and values bound by the type PostgreSQL expects.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql as PgToSql, Type};
use ronda_common::conf::LazySecret;

use super::value::{self, FromSql, Value};
use super::Error;

/// Where the database is. The URL carries no password (`password` does),
/// so that it can be logged and shown.
#[derive(Debug, Clone)]
pub struct PgConfig {
    pub url: String,
    pub password: Option<LazySecret>,
    /// The CA that signed the database's certificate, when it is not in the
    /// system's store. Without TLS (`sslmode=disable`) it is not read.
    pub ca_file: Option<PathBuf>,
}

/// A PostgreSQL connection, owned by a thread of its own. The driver's
/// blocking client runs a small runtime inside, which tokio forbids on a
/// thread that is already in one (the server's async tasks, tests); on its
/// own thread it never is. Callers wait on a channel, as they would on a
/// SQLite call.
pub(super) struct Client {
    jobs: mpsc::Sender<Job>,
}

/// A parameter sent to the connection's thread.
#[derive(Debug, Clone)]
enum Owned {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Owned {
    fn of(v: &Value<'_>) -> Owned {
        match *v {
            Value::Null => Owned::Null,
            Value::Int(i) => Owned::Int(i),
            Value::Real(f) => Owned::Real(f),
            Value::Text(s) => Owned::Text(s.to_owned()),
            Value::Blob(b) => Owned::Blob(b.to_vec()),
        }
    }

    fn value(&self) -> Value<'_> {
        match self {
            Owned::Null => Value::Null,
            Owned::Int(i) => Value::Int(*i),
            Owned::Real(f) => Value::Real(*f),
            Owned::Text(s) => Value::Text(s),
            Owned::Blob(b) => Value::Blob(b),
        }
    }
}

enum Job {
    Execute(String, Vec<Owned>, Reply<u64>),
    Query(String, Vec<Owned>, Reply<Vec<postgres::Row>>),
    Batch(String, Reply<()>),
}

type Reply<T> = mpsc::SyncSender<Result<T, Error>>;

impl Client {
    pub(super) fn connect(config: &PgConfig) -> Result<Client, Error> {
        let config = config.clone();
        let (jobs, queue) = mpsc::channel();
        let (ready, started) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("postgres".into())
            .spawn(move || match session(&config, "ronda-server") {
                Ok(client) => {
                    let _ = ready.send(Ok(()));
                    serve(client, queue);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(|e| Error::Thread(e.to_string()))?;
        started.recv().map_err(|_| gone())??;
        Ok(Client { jobs })
    }

    fn call<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs.send(job(reply)).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    pub(super) fn execute(&self, sql: &str, values: &[Value<'_>]) -> Result<usize, Error> {
        let params = values.iter().map(Owned::of).collect();
        let n = self.call(|r| Job::Execute(sql.to_owned(), params, r))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) fn query(
        &self,
        sql: &str,
        values: &[Value<'_>],
    ) -> Result<Vec<postgres::Row>, Error> {
        let params = values.iter().map(Owned::of).collect();
        self.call(|r| Job::Query(sql.to_owned(), params, r))
    }

    pub(super) fn batch(&self, sql: &str) -> Result<(), Error> {
        self.call(|r| Job::Batch(sql.to_owned(), r))
    }
}

/// A session of the driver's own, for what the store's interface does not
/// carry: an advisory lock held for as long as the session lives, and
/// LISTEN. Blocking: call it on a thread outside any tokio runtime.
pub fn session(config: &PgConfig, application: &str) -> Result<postgres::Client, Error> {
    let mut pg: postgres::Config = config.url.parse()?;
    if let Some(p) = &config.password {
        let p = p.resolve().map_err(|e| Error::Secret(e.to_string()))?;
        pg.password(p.expose());
    }
    pg.application_name(application);
    // A dead peer must end the session, not hang it: the lock is only
    // worth something while its holder is known to be alive.
    pg.keepalives(true)
        .keepalives_idle(std::time::Duration::from_secs(5));
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(std::time::Duration::from_secs(5));
    }
    Ok(match pg.get_ssl_mode() {
        postgres::config::SslMode::Disable => pg.connect(postgres::NoTls)?,
        _ => pg.connect(tls(config)?)?,
    })
}

fn gone() -> Error {
    Error::Thread("the PostgreSQL connection's thread has stopped".into())
}

/// The connection's thread: runs jobs until every [`Client`] is dropped.
/// Prepared statements are kept by their text: the store runs a few dozen
/// queries over and over, and preparing each time would double the round
/// trips.
fn serve(mut client: postgres::Client, queue: mpsc::Receiver<Job>) {
    let mut prepared: HashMap<String, postgres::Statement> = HashMap::new();
    while let Ok(job) = queue.recv() {
        match job {
            Job::Execute(sql, params, reply) => {
                let r = run(&mut client, &mut prepared, &sql, &params, |c, s, p| {
                    c.execute(s, p)
                });
                let _ = reply.send(r);
            }
            Job::Query(sql, params, reply) => {
                let r = run(&mut client, &mut prepared, &sql, &params, |c, s, p| {
                    c.query(s, p)
                });
                let _ = reply.send(r);
            }
            Job::Batch(sql, reply) => {
                let _ = reply.send(client.batch_execute(&sql).map_err(Error::from));
            }
        }
    }
}

fn run<T>(
    client: &mut postgres::Client,
    prepared: &mut HashMap<String, postgres::Statement>,
    sql: &str,
    params: &[Owned],
    f: impl FnOnce(
        &mut postgres::Client,
        &postgres::Statement,
        &[&(dyn PgToSql + Sync)],
    ) -> Result<T, postgres::Error>,
) -> Result<T, Error> {
    let stmt = match prepared.get(sql) {
        Some(s) => s.clone(),
        None => {
            let s = client.prepare(&placeholders(sql))?;
            prepared.insert(sql.to_owned(), s.clone());
            s
        }
    };
    let binds: Vec<Bind<'_>> = params.iter().map(|v| Bind(v.value())).collect();
    let refs: Vec<&(dyn PgToSql + Sync)> = binds.iter().map(|b| b as _).collect();
    Ok(f(client, &stmt, &refs)?)
}

fn tls(config: &PgConfig) -> Result<tokio_postgres_rustls::MakeRustlsConnect, Error> {
    let tls_error = |e: String| Error::Tls(e);
    let mut roots = rustls::RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| tls_error(format!("database.ca_file {}: {e}", path.display())))?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
                roots
                    .add(cert)
                    .map_err(|e| tls_error(format!("database.ca_file {}: {e}", path.display())))?;
            }
            if roots.is_empty() {
                return Err(tls_error(format!(
                    "database.ca_file {}: no PEM certificate in it",
                    path.display()
                )));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A broken system certificate must not stop the others.
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
}

/// SQLite's `?1` and `?` placeholders as PostgreSQL's `$1`. Quoted text
/// and identifiers are left alone.
pub(super) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next = 0;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
                continue;
            }
            (None, _) => {}
        }
        out.push(c);
    }
    out
}

/// Column `index` of a PostgreSQL row, read by the column's own type.
pub(super) fn column<T: FromSql>(r: &postgres::Row, index: usize) -> Result<T, Error> {
    let bad = |message: String| Error::Column { index, message };
    let ty = r
        .columns()
        .get(index)
        .ok_or_else(|| bad("no such column".into()))?
        .type_()
        .clone();
    let v = match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(index)?.map(Value::Int),
        Type::INT4 => r
            .try_get::<_, Option<i32>>(index)?
            .map(|i| Value::Int(i.into())),
        Type::INT2 => r
            .try_get::<_, Option<i16>>(index)?
            .map(|i| Value::Int(i.into())),
        Type::BOOL => r
            .try_get::<_, Option<bool>>(index)?
            .map(|b| Value::Int(b.into())),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(index)?.map(Value::Real),
        Type::FLOAT4 => r
            .try_get::<_, Option<f32>>(index)?
            .map(|f| Value::Real(f.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            r.try_get::<_, Option<&str>>(index)?.map(Value::Text)
        }
        Type::BYTEA => r.try_get::<_, Option<&[u8]>>(index)?.map(Value::Blob),
        other => {
            return Err(bad(format!(
                "type {other} is not one the store reads; cast it in the query"
            )))
        }
    };
    value::column(index, v.unwrap_or(Value::Null))
}

/// A value bound by the type PostgreSQL inferred for its placeholder: the
/// schema stores flags and times as BIGINT, as SQLite's INTEGER.
#[derive(Debug)]
struct Bind<'a>(Value<'a>);

impl PgToSql for Bind<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let wrong = || -> Box<dyn std::error::Error + Sync + Send> {
            format!("cannot bind {:?} to a {ty} parameter", self.0).into()
        };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                _ => Err(wrong()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => Err(wrong()),
            },
            Value::Text(s) if <&str as PgToSql>::accepts(ty) => s.to_sql(ty, out),
            Value::Blob(b) if *ty == Type::BYTEA => b.to_sql(ty, out),
            Value::Text(_) | Value::Blob(_) => Err(wrong()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// What went wrong, with the server's own message when it sent one
/// (`postgres::Error` alone says only "db error").
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            if let Some(source) = std::error::Error::source(e) {
                s.push_str(": ");
                s.push_str(&source.to_string());
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?3' AND \"?\" = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?3' AND \"?\" = $1"
        );
        assert_eq!(placeholders("VALUES (?, ?)"), "VALUES ($1, $2)");
    }
}
