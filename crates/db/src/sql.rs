//! Small helpers for statements whose shape depends on a row count.
use jiff::civil::Date;

use crate::{DbError, Result};

use crate::Backend;

/// Rows per multi-row statement (or NPNs per `IN (…)` list) for `binds_per_row` parameters a
/// row. SQLite looks parameters up by name one by one, which costs time quadratic in their
/// number (a 7,000-parameter statement spends 80% of an import there), so its statements stay
/// small; PostgreSQL takes large ones (limit 65,535 parameters).
pub(crate) fn batch_rows(backend: Backend, binds_per_row: usize) -> usize {
    match backend {
        Backend::Sqlite => (256 / binds_per_row).max(1),
        Backend::Postgres => 1000,
    }
}

/// `prefix ($1, $2, …), (…), …` for `rows` rows of `cols` columns.
pub(crate) fn insert_values_sql(prefix: &str, cols: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * cols * 6);
    sql.push_str(prefix);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * cols + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// `$first, $first+1, …` (`n` placeholders) for an `IN (…)` list.
pub(crate) fn placeholder_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn parse_date(s: &str) -> Result<Date> {
    s.parse()
        .map_err(|e| DbError::Corrupt(format!("date {s:?}: {e}")))
}

pub(crate) fn parse_opt_date(s: Option<&str>) -> Result<Option<Date>> {
    s.map(parse_date).transpose()
}

pub(crate) fn date_text(d: Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn statement_shapes() {
        assert_eq!(super::insert_values_sql("X ", 2, 2), "X ($1, $2), ($3, $4)");
        assert_eq!(super::placeholder_list(2, 3), "$2, $3, $4");
    }
}
