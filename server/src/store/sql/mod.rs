//! One SQL interface over the two databases the server can keep its state
//! in: a SQLite file, or PostgreSQL for a server that must survive the loss
//! of one machine. The store's queries are written once, in the SQL both
//! engines share, against this interface; its shape follows rusqlite's so a
//! query reads the same as it did before there were two.

mod pg;
mod value;

pub use pg::{session, PgConfig};
pub use value::{FromSql, Params, ToSql, Value, ValueRef};

/// Parameters of mixed types, as rusqlite's macro of the same name.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::sql::ToSql] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::store::sql::ToSql),+] as &[&dyn $crate::store::sql::ToSql] };
}
pub use crate::params;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg::describe(.0))]
    Postgres(#[from] postgres::Error),
    #[error("database connection: {0}")]
    Thread(String),
    #[error("database password: {0}")]
    Secret(String),
    #[error("database TLS: {0}")]
    Tls(String),
    #[error("the query returned no row")]
    NoRows,
    #[error("column {index}: {message}")]
    Column { index: usize, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which SQL a query may need to differ in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection to either database.
pub struct Connection(Backend);

enum Backend {
    Lite(rusqlite::Connection),
    Pg(pg::Client),
}

impl From<rusqlite::Connection> for Connection {
    fn from(c: rusqlite::Connection) -> Self {
        Connection(Backend::Lite(c))
    }
}

impl Connection {
    pub fn postgres(config: &PgConfig) -> Result<Connection> {
        Ok(Connection(Backend::Pg(pg::Client::connect(config)?)))
    }

    pub fn dialect(&self) -> Dialect {
        match &self.0 {
            Backend::Lite(_) => Dialect::Sqlite,
            Backend::Pg(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, backup).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.0 {
            Backend::Lite(c) => Some(c),
            Backend::Pg(_) => None,
        }
    }

    /// Run one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        let values = params.values();
        match &self.0 {
            Backend::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter().map(lite)))?)
            }
            Backend::Pg(c) => c.execute(sql, &values),
        }
    }

    /// Run statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.0 {
            Backend::Lite(c) => Ok(c.execute_batch(sql)?),
            Backend::Pg(c) => c.batch(sql),
        }
    }

    /// Every row `sql` gives, each turned into a `T` by `f`.
    pub fn query_rows<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let values = params.values();
        match &self.0 {
            Backend::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(values.iter().map(lite)))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(f(&Row(RowInner::Lite(r)))?);
                }
                Ok(out)
            }
            Backend::Pg(c) => {
                // Taken whole before `f` runs, so `f` may query again.
                let rows = c.query(sql, &values)?;
                rows.iter().map(|r| f(&Row(RowInner::Pg(r)))).collect()
            }
        }
    }

    /// The one row `sql` gives ([`Error::NoRows`] when there is none).
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut f = Some(f);
        let mut first = None;
        self.query_rows(sql, params, |r| {
            if let Some(f) = f.take() {
                first = Some(f(r)?);
            }
            Ok(())
        })?;
        first.ok_or(Error::NoRows)
    }

    /// A statement to run later, as rusqlite's `prepare_cached`. Both
    /// engines keep the prepared form in a cache of the connection.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            conn: self,
            sql: sql.to_owned(),
        })
    }

    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare_cached(sql)
    }

    /// Begin a transaction; it rolls back unless committed. It takes `&self`
    /// (as rusqlite's `unchecked_transaction`): the store's connections are
    /// each owned by one thread, so nothing else can interleave.
    pub fn transaction(&self) -> Result<Transaction<'_>> {
        self.begin("BEGIN")
    }

    pub fn unchecked_transaction(&self) -> Result<Transaction<'_>> {
        self.transaction()
    }

    /// A transaction that reads and then writes while another connection
    /// may commit. SQLite must take the write lock at BEGIN (a deferred one
    /// fails with SQLITE_BUSY at its first write); PostgreSQL locks rows as
    /// it writes, so a plain BEGIN does.
    pub fn immediate_transaction(&self) -> Result<Transaction<'_>> {
        self.begin(match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })
    }

    fn begin(&self, sql: &str) -> Result<Transaction<'_>> {
        self.execute_batch(sql)?;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }
}

fn lite<'a>(v: &'a Value<'a>) -> rusqlite::types::ToSqlOutput<'a> {
    use rusqlite::types::ValueRef as V;
    rusqlite::types::ToSqlOutput::Borrowed(match *v {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(i),
        Value::Real(f) => V::Real(f),
        Value::Text(s) => V::Text(s.as_bytes()),
        Value::Blob(b) => V::Blob(b),
    })
}

/// A statement bound to its connection, as rusqlite's.
pub struct Statement<'c> {
    conn: &'c Connection,
    sql: String,
}

impl Statement<'_> {
    pub fn execute(&mut self, params: impl Params) -> Result<usize> {
        self.conn.execute(&self.sql, params)
    }

    pub fn query_map<T>(
        &mut self,
        params: impl Params,
        f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        // Every row is read already; the iterator only keeps rusqlite's shape.
        let rows = self.conn.query_rows(&self.sql, params, f)?;
        Ok(rows.into_iter().map(Ok).collect::<Vec<_>>().into_iter())
    }

    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.conn.query_row(&self.sql, params, f)
    }
}

/// An open transaction. Dropped without [`Transaction::commit`], it rolls back.
pub struct Transaction<'c> {
    conn: &'c Connection,
    done: bool,
}

impl Transaction<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute_batch("COMMIT")
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "rollback failed");
            }
        }
    }
}

/// One row of a result.
pub struct Row<'a>(RowInner<'a>);

enum RowInner<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `index` as a `T`. The first type parameter stands for the
    /// index, as in rusqlite, so `get::<_, T>(i)` reads the same.
    pub fn get<I: RowIndex, T: FromSql>(&self, index: I) -> Result<T> {
        let index = index.index();
        match &self.0 {
            RowInner::Lite(r) => {
                use rusqlite::types::ValueRef as V;
                let v = match r.get_ref(index)? {
                    V::Null => Value::Null,
                    V::Integer(i) => Value::Int(i),
                    V::Real(f) => Value::Real(f),
                    V::Text(t) => {
                        Value::Text(std::str::from_utf8(t).map_err(|e| Error::Column {
                            index,
                            message: e.to_string(),
                        })?)
                    }
                    V::Blob(b) => Value::Blob(b),
                };
                value::column(index, v)
            }
            RowInner::Pg(r) => pg::column(r, index),
        }
    }
}

/// A column's place in a row (a trait, as rusqlite's, so that a bare
/// literal index is a `usize`).
pub trait RowIndex {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// rusqlite's `optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
