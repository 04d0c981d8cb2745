//! Statements run in a write transaction, written once for both backends.
//!
//! A [`Query`] holds the SQL text (`$1` placeholders) and its arguments as plain values, so
//! that one statement can be run by sqlx on PostgreSQL and by SQLite's writer connection
//! (`sqlite_writer`) without compiling the call site twice. Rows are decoded through [`Cols`], which every
//! backend's row type implements, into types that implement [`FromCols`].
use std::borrow::Cow;

use crate::{Conn, DbError, Result, Tx};

/// One argument of a statement. Nulls keep their type: PostgreSQL wants to know it.
#[derive(Debug, Clone)]
pub enum Arg {
    I64(Option<i64>),
    I32(Option<i32>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
    /// A list, for `= ANY($n)` on PostgreSQL and `IN (SELECT value FROM json_each($n))` on
    /// SQLite (where it is bound as a JSON array).
    I64s(Vec<i64>),
}

/// A value a statement can take as an argument.
pub trait Bind {
    fn arg(self) -> Arg;
    /// The null of this type (for `Option<Self>`).
    fn null() -> Arg;
}

macro_rules! bind_as {
    ($variant:ident: $($ty:ty => |$v:ident| $conv:expr),+ $(,)?) => {$(
        impl Bind for $ty {
            fn arg(self) -> Arg {
                let $v = self;
                Arg::$variant(Some($conv))
            }
            fn null() -> Arg {
                Arg::$variant(None)
            }
        }
    )+};
}
bind_as!(I64: i64 => |v| v, &i64 => |v| *v);
bind_as!(I32: i32 => |v| v);
bind_as!(F64: f64 => |v| v);
bind_as!(Bool: bool => |v| v);
bind_as!(Text: &str => |v| v.to_owned(), String => |v| v, &String => |v| v.clone());
bind_as!(Blob: &[u8] => |v| v.to_vec());

impl Bind for &[i64] {
    fn arg(self) -> Arg {
        Arg::I64s(self.to_vec())
    }
    fn null() -> Arg {
        Arg::I64s(Vec::new())
    }
}

impl<T: Bind> Bind for Option<T> {
    fn arg(self) -> Arg {
        match self {
            Some(v) => v.arg(),
            None => T::null(),
        }
    }
    fn null() -> Arg {
        T::null()
    }
}

impl<'a, T> Bind for &'a Option<T>
where
    &'a T: Bind,
{
    fn arg(self) -> Arg {
        match self {
            Some(v) => v.arg(),
            None => <&T>::null(),
        }
    }
    fn null() -> Arg {
        <&T>::null()
    }
}

/// A column type every backend decodes.
pub trait Col:
    for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + rusqlite::types::FromSql
{
}
impl<T> Col for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + rusqlite::types::FromSql
{
}

/// A row of any backend: its columns by name or position.
pub trait Cols {
    fn try_get<T: Col>(&self, col: &str) -> sqlx::Result<T>;
    fn try_get_at<T: Col>(&self, index: usize) -> sqlx::Result<T>;
}

impl Cols for sqlx::sqlite::SqliteRow {
    fn try_get<T: Col>(&self, col: &str) -> sqlx::Result<T> {
        sqlx::Row::try_get(self, col)
    }
    fn try_get_at<T: Col>(&self, index: usize) -> sqlx::Result<T> {
        sqlx::Row::try_get(self, index)
    }
}

impl Cols for sqlx::postgres::PgRow {
    fn try_get<T: Col>(&self, col: &str) -> sqlx::Result<T> {
        sqlx::Row::try_get(self, col)
    }
    fn try_get_at<T: Col>(&self, index: usize) -> sqlx::Result<T> {
        sqlx::Row::try_get(self, index)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn try_get<T: Col>(&self, col: &str) -> sqlx::Result<T> {
        self.get(col).map_err(|e| sqlx::Error::ColumnDecode {
            index: col.to_owned(),
            source: Box::new(e),
        })
    }
    fn try_get_at<T: Col>(&self, index: usize) -> sqlx::Result<T> {
        self.get(index).map_err(|e| sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: Box::new(e),
        })
    }
}

/// A type made from a row of any backend.
pub trait FromCols: Sized {
    fn from_cols(row: &impl Cols) -> sqlx::Result<Self>;
}

macro_rules! tuple_from_cols {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Col),+> FromCols for ($($t,)+) {
            fn from_cols(row: &impl Cols) -> sqlx::Result<Self> {
                Ok(($(row.try_get_at::<$t>($i)?,)+))
            }
        }
    };
}
tuple_from_cols!(A 0);
tuple_from_cols!(A 0, B 1);
tuple_from_cols!(A 0, B 1, C 2);
tuple_from_cols!(A 0, B 1, C 2, D 3);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_cols!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// A statement and its arguments.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is run"]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

/// A statement to run in a transaction.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

fn pg_query(
    sql: &str,
    args: Vec<Arg>,
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for arg in args {
        q = match arg {
            Arg::I64(v) => q.bind(v),
            Arg::I32(v) => q.bind(v),
            Arg::F64(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
            Arg::I64s(v) => q.bind(v),
        };
    }
    q
}

impl Query {
    pub fn bind(mut self, value: impl Bind) -> Self {
        self.args.push(value.arg());
        self
    }

    /// Runs the statement; how many rows it changed.
    pub async fn execute(self, tx: &mut Tx) -> Result<u64> {
        Ok(match &mut tx.conn {
            Conn::Sqlite(t) => t.run(&self.sql, &self.args, |_| Ok(())).await?,
            Conn::Postgres(t) => pg_query(&self.sql, self.args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
        })
    }

    /// Every row the statement returns.
    pub async fn fetch_all<T: FromCols>(self, tx: &mut Tx) -> Result<Vec<T>> {
        match &mut tx.conn {
            Conn::Sqlite(t) => {
                let mut rows = Vec::new();
                t.run(&self.sql, &self.args, |r| {
                    rows.push(T::from_cols(r)?);
                    Ok(())
                })
                .await?;
                Ok(rows)
            }
            Conn::Postgres(t) => pg_query(&self.sql, self.args)
                .fetch_all(&mut **t)
                .await?
                .iter()
                .map(|r| T::from_cols(r).map_err(DbError::from))
                .collect(),
        }
    }

    /// The first row the statement returns, if any.
    pub async fn fetch_optional<T: FromCols>(self, tx: &mut Tx) -> Result<Option<T>> {
        let row = match &mut tx.conn {
            Conn::Sqlite(t) => {
                let mut first = None;
                t.run(&self.sql, &self.args, |r| {
                    if first.is_none() {
                        first = Some(T::from_cols(r));
                    }
                    Ok(())
                })
                .await?;
                first
            }
            Conn::Postgres(t) => pg_query(&self.sql, self.args)
                .fetch_optional(&mut **t)
                .await?
                .map(|r| T::from_cols(&r)),
        };
        Ok(row.transpose()?)
    }

    /// The first row the statement returns; an error when there is none.
    pub async fn fetch_one<T: FromCols>(self, tx: &mut Tx) -> Result<T> {
        self.fetch_optional(tx)
            .await?
            .ok_or(DbError::Sql(sqlx::Error::RowNotFound))
    }

    /// The first column of the first row.
    pub async fn scalar<T: Col>(self, tx: &mut Tx) -> Result<T> {
        Ok(self.fetch_one::<(T,)>(tx).await?.0)
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar_optional<T: Col>(self, tx: &mut Tx) -> Result<Option<T>> {
        Ok(self.fetch_optional::<(T,)>(tx).await?.map(|(v,)| v))
    }

    /// The first column of every row.
    pub async fn scalars<T: Col>(self, tx: &mut Tx) -> Result<Vec<T>> {
        Ok(self
            .fetch_all::<(T,)>(tx)
            .await?
            .into_iter()
            .map(|(v,)| v)
            .collect())
    }
}
