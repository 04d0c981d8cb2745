//! Instants are stored as epoch milliseconds (`i64`), from the application's clock.
use jiff::Timestamp;

use crate::DbError;

pub fn to_millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn from_millis(ms: i64) -> Result<Timestamp, DbError> {
    Timestamp::from_millisecond(ms).map_err(|e| DbError::Corrupt(format!("timestamp {ms}: {e}")))
}
