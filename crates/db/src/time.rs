//! Instants are stored as epoch milliseconds (`i64`), from the application's clock; rows are
//! decoded into `jiff` instants and domain types here, once, so nothing above sees the storage form.
use jiff::Timestamp;

use crate::query::Cols;

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
pub(crate) fn instant(row: &impl Cols, col: &str) -> sqlx::Result<Timestamp> {
    let ms: i64 = row.try_get(col)?;
    Timestamp::from_millisecond(ms).map_err(|e| corrupt(col, e))
}

/// A nullable epoch-millisecond column as an instant.
pub(crate) fn maybe_instant(row: &impl Cols, col: &str) -> sqlx::Result<Option<Timestamp>> {
    let ms: Option<i64> = row.try_get(col)?;
    ms.map(|ms| Timestamp::from_millisecond(ms).map_err(|e| corrupt(col, e)))
        .transpose()
}

/// A text column as a domain type that parses its stored name (statuses, kinds, actors).
pub(crate) fn parsed<T>(row: &impl Cols, col: &str) -> sqlx::Result<T>
where
    T: TryFrom<String, Error = String>,
{
    T::try_from(row.try_get::<String>(col)?).map_err(|e| corrupt(col, e))
}

/// A text column as a domain type with `FromStr` (actors).
pub(crate) fn parsed_str<T>(row: &impl Cols, col: &str) -> sqlx::Result<T>
where
    T: std::str::FromStr<Err = String>,
{
    row.try_get::<String>(col)?
        .parse()
        .map_err(|e: String| corrupt(col, e))
}

/// A nullable text column as a domain type.
pub(crate) fn maybe_parsed<T>(row: &impl Cols, col: &str) -> sqlx::Result<Option<T>>
where
    T: TryFrom<String, Error = String>,
{
    row.try_get::<Option<String>>(col)?
        .map(|s| T::try_from(s).map_err(|e| corrupt(col, e)))
        .transpose()
}

/// Decoding of a row type for every backend from one body ([`FromCols`], and sqlx's
/// `FromRow` for the statements run on a pool). `from_row!(T { a, b })` reads each field from
/// the column of its name.
///
/// [`FromCols`]: crate::query::FromCols
macro_rules! from_row {
    ($ty:ty, |$row:ident| $body:expr) => {
        impl $crate::query::FromCols for $ty {
            fn from_cols($row: &impl $crate::query::Cols) -> sqlx::Result<Self> {
                #[allow(unused_imports)]
                use $crate::query::Cols as _;
                $body
            }
        }
        impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for $ty {
            fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> sqlx::Result<Self> {
                <$ty as $crate::query::FromCols>::from_cols(row)
            }
        }
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $ty {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> sqlx::Result<Self> {
                <$ty as $crate::query::FromCols>::from_cols(row)
            }
        }
    };
    ($ty:ident { $($field:ident),* $(,)? }) => {
        $crate::time::from_row!($ty, |r| Ok($ty {
            $($field: r.try_get(stringify!($field))?),*
        }));
    };
}
pub(crate) use from_row;
