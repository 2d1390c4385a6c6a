//! Values crossing into and out of SQL, the same for SQLite and PostgreSQL.
//!
//! The schema keeps to the types both engines share: 64-bit integers (also
//! for flags), text, reals and bytes. A value is bound as what it is and
//! read back as what the column holds, so one query text serves both.

use super::Error;

/// A parameter as either engine takes it.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// A column as either engine gives it.
pub type ValueRef<'a> = Value<'a>;

/// Something that can be a query parameter.
pub trait ToSql {
    fn value(&self) -> Value<'_>;
}

/// Something a column can be read as.
pub trait FromSql: Sized {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String>;
}

macro_rules! int_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn value(&self) -> Value<'_> {
                // Counts and sequence numbers far below i64::MAX; one above
                // it is stored as the largest value rather than wrapping.
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
        impl FromSql for $t {
            fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
                match v {
                    Value::Int(i) => <$t>::try_from(i).map_err(|_| format!("{i} out of range")),
                    other => Err(format!("expected an integer, found {}", kind(&other))),
                }
            }
        }
    )*};
}
int_to_sql!(i64, i32, u32, u64, usize, u8, u16);

impl ToSql for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl FromSql for bool {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        i64::from_sql(v).map(|i| i != 0)
    }
}

impl ToSql for f64 {
    fn value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}

impl FromSql for f64 {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            Value::Real(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {}", kind(&other))),
        }
    }
}

impl ToSql for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToSql for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl FromSql for String {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.to_owned()),
            other => Err(format!("expected text, found {}", kind(&other))),
        }
    }
}

impl ToSql for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl ToSql for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.to_vec()),
            other => Err(format!("expected bytes, found {}", kind(&other))),
        }
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn value(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, ToSql::value)
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

fn kind(v: &Value<'_>) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Int(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
    }
}

/// Read column `index` of a row already turned into a [`ValueRef`].
pub(super) fn column<T: FromSql>(index: usize, v: ValueRef<'_>) -> Result<T, Error> {
    T::from_sql(v).map_err(|message| Error::Column { index, message })
}

/// Parameters of one statement: `[]`, `[a]`, `[a, b]` of one type, or
/// [`params!`](crate::params) for mixed types.
pub trait Params {
    fn values(&self) -> Vec<Value<'_>>;
}

impl Params for [&dyn ToSql] {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.value()).collect()
    }
}

impl Params for &[&dyn ToSql] {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.value()).collect()
    }
}

impl Params for [&dyn ToSql; 0] {
    fn values(&self) -> Vec<Value<'_>> {
        Vec::new()
    }
}

macro_rules! array_params {
    ($($n:literal)*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn values(&self) -> Vec<Value<'_>> {
                self.iter().map(ToSql::value).collect()
            }
        }
    )*};
}
array_params!(1 2 3 4 5 6 7 8);
