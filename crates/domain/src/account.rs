//! What an agent's account is made of: username, US mobile number, preferred contact method.
use std::fmt;

/// A username: 3–64 characters of letters, digits and `. _ - @ +`, unique ignoring case.
#[derive(Clone, PartialEq, Eq)]
pub struct Username(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username is 3 to 64 characters")]
    Length,
    #[error("a username may contain only letters, digits and . _ - @ +")]
    Characters,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let s = raw.trim();
        if !(3..=64).contains(&s.chars().count()) {
            return Err(UsernameError::Length);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
        {
            return Err(UsernameError::Characters);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked in.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

/// A US phone number in E.164 (`+1` and ten digits), parsed from any common way of writing
/// it: `(713) 555-0101`, `713.555.0101`, `+1 713 555 0101`, `1-713-555-0101`.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneE164(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("a US phone number has 10 digits (area code and number)")]
    Digits,
    #[error("a US area code and exchange do not start with 0 or 1")]
    NotNanp,
    /// 800, 833, 844, 855, 866, 877, 888 (and the reserved 8XX codes): calls only.
    #[error("toll-free numbers cannot receive text messages")]
    TollFree,
    /// Premium (900) and non-geographic personal-communication (5XX) numbers.
    #[error("this kind of number cannot receive text messages")]
    NotTextable,
}

impl PhoneE164 {
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let s = raw.trim();
        let allowed =
            |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+');
        if s.is_empty() || !s.chars().all(allowed) || s[1..].contains('+') {
            return Err(PhoneError::Digits);
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let national = match digits.len() {
            10 => digits.as_str(),
            11 if digits.starts_with('1') => &digits[1..],
            _ => return Err(PhoneError::Digits),
        };
        let b = national.as_bytes();
        if b[0] < b'2' || b[3] < b'2' {
            return Err(PhoneError::NotNanp);
        }
        Ok(Self(format!("+1{national}")))
    }

    /// A number that can receive text messages (an agent's mobile number, a consumer who asks
    /// to be texted): a valid number that is not toll-free, premium or non-geographic.
    pub fn parse_textable(raw: &str) -> Result<Self, PhoneError> {
        let phone = Self::parse(raw)?;
        let area = &phone.0[2..5];
        let (first, rest) = area.split_at(1);
        match (first, rest) {
            ("8", "00" | "22" | "33" | "44" | "55" | "66" | "77" | "88") => {
                Err(PhoneError::TollFree)
            }
            ("9", "00")
            | ("5", "00" | "21" | "22" | "23" | "24" | "25" | "33" | "44" | "66" | "77" | "88") => {
                Err(PhoneError::NotTextable)
            }
            _ => Ok(phone),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(713) 555-0101`.
    pub fn national(&self) -> String {
        let d = &self.0[2..];
        format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
    }
}

impl fmt::Debug for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data: only the last two digits.
        write!(f, "PhoneE164(…{})", &self.0[self.0.len() - 2..])
    }
}

/// The four Preferred Contact Methods of the registration page, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    /// Recommended; preselected.
    EmailTextApp,
    EmailText,
    EmailApp,
    EmailOnly,
}

impl ContactMethod {
    pub const ALL: [Self; 4] = [
        Self::EmailTextApp,
        Self::EmailText,
        Self::EmailApp,
        Self::EmailOnly,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::EmailTextApp => "email_text_app",
            Self::EmailText => "email_text",
            Self::EmailApp => "email_app",
            Self::EmailOnly => "email_only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == s.trim())
    }

    /// The program's wording.
    pub fn label(self) -> &'static str {
        match self {
            Self::EmailTextApp => "Email, Text & App Notification",
            Self::EmailText => "Email & Text",
            Self::EmailApp => "Email & App Notification",
            Self::EmailOnly => "Email Only",
        }
    }

    pub fn texts(self) -> bool {
        matches!(self, Self::EmailTextApp | Self::EmailText)
    }

    pub fn pushes(self) -> bool {
        matches!(self, Self::EmailTextApp | Self::EmailApp)
    }
}

/// One `@`, something before it, a dotted domain after it, no spaces.
pub fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            Username::parse(" Rosa.Reyes@agency.test ").unwrap().key(),
            "rosa.reyes@agency.test"
        );
        assert!(Username::parse("a_b").is_ok());
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(65)), Err(UsernameError::Length));
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            Username::parse("rosa reyes"),
            Err(UsernameError::Characters)
        );
        assert_eq!(Username::parse("rosa!"), Err(UsernameError::Characters));
    }

    #[test]
    fn phones_in_common_formats() {
        for raw in [
            "(713) 555-0101",
            "713.555.0101",
            "+1 713 555 0101",
            "1-713-555-0101",
            "7135550101",
        ] {
            assert_eq!(
                PhoneE164::parse(raw).unwrap().as_str(),
                "+17135550101",
                "{raw}"
            );
        }
        assert_eq!(
            PhoneE164::parse("+17135550101").unwrap().national(),
            "(713) 555-0101"
        );
        assert_eq!(PhoneE164::parse("555-0101"), Err(PhoneError::Digits));
        for toll_free in [
            "800-555-0101",
            "(888) 555-0101",
            "+1 833 555 0101",
            "1-877-555-0101",
        ] {
            assert!(
                PhoneE164::parse(toll_free).is_ok(),
                "{toll_free} can be called"
            );
            assert_eq!(
                PhoneE164::parse_textable(toll_free),
                Err(PhoneError::TollFree),
                "{toll_free}"
            );
        }
        for other in ["900-555-0101", "500-555-0101", "533-555-0101"] {
            assert_eq!(
                PhoneE164::parse_textable(other),
                Err(PhoneError::NotTextable)
            );
        }
        for mobile in ["713-555-0101", "(305) 555-0101", "(206) 555-0101"] {
            assert!(PhoneE164::parse_textable(mobile).is_ok(), "{mobile}");
        }
        assert_eq!(
            PhoneE164::parse("+44 20 7946 0958"),
            Err(PhoneError::Digits)
        );
        assert_eq!(PhoneE164::parse("(013) 555-0101"), Err(PhoneError::NotNanp));
        assert_eq!(PhoneE164::parse("(713) 155-0101"), Err(PhoneError::NotNanp));
        assert_eq!(PhoneE164::parse("713-555-01O1"), Err(PhoneError::Digits));
        assert_eq!(
            format!("{:?}", PhoneE164::parse("7135550101").unwrap()),
            "PhoneE164(…01)"
        );
    }
}
