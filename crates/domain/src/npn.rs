//! National Producer Number.
use std::fmt;

/// An NPN: the digits NIPR assigns to a producer. CMS files carry them unpadded and of
/// varying length; we keep the digits as given, without leading zeros.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Npn(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpnError {
    #[error("NPN is empty")]
    Empty,
    #[error("NPN {0:?} must contain digits only")]
    NotDigits(String),
    #[error("NPN {0:?} is longer than 10 digits")]
    TooLong(String),
}

impl Npn {
    pub fn parse(raw: &str) -> Result<Self, NpnError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(NpnError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NpnError::NotDigits(s.to_owned()));
        }
        let digits = s.trim_start_matches('0');
        if digits.is_empty() {
            return Err(NpnError::NotDigits(s.to_owned()));
        }
        if digits.len() > 10 {
            return Err(NpnError::TooLong(s.to_owned()));
        }
        Ok(Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The NPN as a number (at most 10 digits always fit): a compact key for large files.
    pub fn as_u64(&self) -> u64 {
        self.0.parse().expect("an NPN is at most 10 digits")
    }
}

impl TryFrom<String> for Npn {
    type Error = NpnError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Npn> for String {
    fn from(value: Npn) -> Self {
        value.0
    }
}

impl fmt::Display for Npn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Npn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Npn({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_digit_strings_of_varying_length() {
        assert_eq!(Npn::parse(" 1234567 ").unwrap().as_str(), "1234567");
        assert_eq!(Npn::parse("0012").unwrap().as_str(), "12");
        assert_eq!(
            Npn::parse("19912345678").unwrap_err(),
            NpnError::TooLong("19912345678".into())
        );
        assert!(matches!(Npn::parse("12a4"), Err(NpnError::NotDigits(_))));
        assert!(matches!(Npn::parse("000"), Err(NpnError::NotDigits(_))));
        assert_eq!(Npn::parse(""), Err(NpnError::Empty));
    }
}
