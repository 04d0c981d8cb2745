//! Instants are stored as epoch milliseconds (`i64`), from the application's clock; rows are
//! decoded into `jiff` instants and domain types here, once, so nothing above sees the storage form.
use jiff::Timestamp;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::DbError;

pub fn to_millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn from_millis(ms: i64) -> Result<Timestamp, DbError> {
    Timestamp::from_millisecond(ms).map_err(|e| DbError::Corrupt(format!("timestamp {ms}: {e}")))
}

fn corrupt(col: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: e.to_string().into(),
    }
}

/// An epoch-millisecond column as an instant.
pub(crate) fn instant<'r, R: Row>(row: &'r R, col: &str) -> sqlx::Result<Timestamp>
where
    i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    let ms: i64 = row.try_get(col)?;
    Timestamp::from_millisecond(ms).map_err(|e| corrupt(col, e))
}

/// A nullable epoch-millisecond column as an instant.
pub(crate) fn maybe_instant<'r, R: Row>(row: &'r R, col: &str) -> sqlx::Result<Option<Timestamp>>
where
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    let ms: Option<i64> = row.try_get(col)?;
    ms.map(|ms| Timestamp::from_millisecond(ms).map_err(|e| corrupt(col, e)))
        .transpose()
}

/// A text column as a domain type that parses its stored name (statuses, kinds, actors).
pub(crate) fn parsed<'r, R: Row, T>(row: &'r R, col: &str) -> sqlx::Result<T>
where
    String: Decode<'r, R::Database> + Type<R::Database>,
    T: TryFrom<String, Error = String>,
    for<'c> &'c str: ColumnIndex<R>,
{
    T::try_from(row.try_get::<String, _>(col)?).map_err(|e| corrupt(col, e))
}

/// A text column as a domain type with `FromStr` (actors).
pub(crate) fn parsed_str<'r, R: Row, T>(row: &'r R, col: &str) -> sqlx::Result<T>
where
    String: Decode<'r, R::Database> + Type<R::Database>,
    T: std::str::FromStr<Err = String>,
    for<'c> &'c str: ColumnIndex<R>,
{
    row.try_get::<String, _>(col)?
        .parse()
        .map_err(|e: String| corrupt(col, e))
}

/// A nullable text column as a domain type.
pub(crate) fn maybe_parsed<'r, R: Row, T>(row: &'r R, col: &str) -> sqlx::Result<Option<T>>
where
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    T: TryFrom<String, Error = String>,
    for<'c> &'c str: ColumnIndex<R>,
{
    row.try_get::<Option<String>, _>(col)?
        .map(|s| T::try_from(s).map_err(|e| corrupt(col, e)))
        .transpose()
}

/// `FromRow` for both backends' rows from one body, for rows whose columns need decoding
/// into domain types (`derive(FromRow)` covers the rest).
macro_rules! from_row {
    ($ty:ty, |$row:ident| $body:expr) => {
        impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for $ty {
            fn from_row($row: &'r sqlx::sqlite::SqliteRow) -> sqlx::Result<Self> {
                #[allow(unused_imports)]
                use sqlx::Row as _;
                $body
            }
        }
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $ty {
            fn from_row($row: &'r sqlx::postgres::PgRow) -> sqlx::Result<Self> {
                #[allow(unused_imports)]
                use sqlx::Row as _;
                $body
            }
        }
    };
}
pub(crate) use from_row;
