//! The password rules of SPEC.md §3.1: eight rules, each with the id the API reports, and
//! `not_common`. One implementation, used by the registration form, the API, the reset and
//! change-password pages, and the live checklist's server twin.
use std::collections::HashSet;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

/// A password rule; [`Rule::id`] is the id of SPEC.md §3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    NoSpaces,
    Length,
    Number,
    Lower,
    Upper,
    Special,
    MaxRepeat,
    MaxSequence,
    NotCommon,
}

impl Rule {
    /// Every rule, in the live checklist's order: what the checklist shows as met is what
    /// the server accepts.
    pub const CHECKLIST: [Rule; 9] = [
        Rule::NoSpaces,
        Rule::Length,
        Rule::Number,
        Rule::Lower,
        Rule::Upper,
        Rule::Special,
        Rule::MaxRepeat,
        Rule::MaxSequence,
        Rule::NotCommon,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::NoSpaces => "no_spaces",
            Rule::Length => "length",
            Rule::Number => "number",
            Rule::Lower => "lower",
            Rule::Upper => "upper",
            Rule::Special => "special",
            Rule::MaxRepeat => "max_repeat",
            Rule::MaxSequence => "max_sequence",
            Rule::NotCommon => "not_common",
        }
    }
}

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 20;
/// Runs this long of one character, or of a sequence, are refused.
pub const MAX_RUN: usize = 4;

/// What else the password must not contain: the account's own names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Personal<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// The rules `password` fails, in the checklist's order, then `not_common`. Empty = valid.
pub fn check(password: &str, personal: &Personal<'_>) -> Vec<Rule> {
    let mut failed = check_rules(password);
    if is_common(password, personal) {
        failed.push(Rule::NotCommon);
    }
    failed
}

/// The eight rules alone (what the checklist ticks as the agent types).
pub fn check_rules(password: &str) -> Vec<Rule> {
    let nfc: Vec<char> = password.nfc().collect();
    let mut failed = Vec::new();
    if nfc.iter().any(|c| c.is_whitespace() || c.is_control()) {
        failed.push(Rule::NoSpaces);
    }
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&nfc.len()) {
        failed.push(Rule::Length);
    }
    let has = |f: fn(&char) -> bool| nfc.iter().any(f);
    if !has(char::is_ascii_digit) {
        failed.push(Rule::Number);
    }
    if !has(char::is_ascii_lowercase) {
        failed.push(Rule::Lower);
    }
    if !has(char::is_ascii_uppercase) {
        failed.push(Rule::Upper);
    }
    if !has(char::is_ascii_punctuation) {
        failed.push(Rule::Special);
    }
    if longest_repeat(&nfc) >= MAX_RUN {
        failed.push(Rule::MaxRepeat);
    }
    if longest_sequence(&nfc) >= MAX_RUN {
        failed.push(Rule::MaxSequence);
    }
    failed
}

/// The longest run of one character repeated (case-sensitive).
fn longest_repeat(chars: &[char]) -> usize {
    let mut best = usize::from(!chars.is_empty());
    let mut run = 1;
    for pair in chars.windows(2) {
        run = if pair[0] == pair[1] { run + 1 } else { 1 };
        best = best.max(run);
    }
    best
}

/// The longest run ascending or descending by one, within digits or within letters
/// (ignoring case). No wrap-around; a digit next to a letter breaks the run.
fn longest_sequence(chars: &[char]) -> usize {
    let class = |c: char| {
        if c.is_ascii_digit() {
            Some((0, c as i32))
        } else if c.is_ascii_alphabetic() {
            Some((1, c.to_ascii_lowercase() as i32))
        } else {
            None
        }
    };
    let mut best = usize::from(!chars.is_empty());
    let (mut run, mut step) = (1, 0);
    for pair in chars.windows(2) {
        match (class(pair[0]), class(pair[1])) {
            (Some((ka, a)), Some((kb, b))) if ka == kb && (b - a).abs() == 1 => {
                let d = b - a;
                (run, step) = if d == step { (run + 1, d) } else { (2, d) };
            }
            _ => (run, step) = (1, 0),
        }
        best = best.max(run);
    }
    best
}

const WORDS: &str = include_str!("../../../data/common_password_words.txt");

fn words() -> &'static HashSet<&'static str> {
    static WORDS_SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS_SET.get_or_init(|| {
        WORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Undoes the usual letter-for-symbol swaps, lower-cased.
fn unleet(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_ascii_lowercase() {
            '@' | '4' => 'a',
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// A common word followed only by digits and punctuation, or containing one of the
/// account's own names (4+ characters), ignoring case.
pub fn is_common(password: &str, personal: &Personal<'_>) -> bool {
    let lower = password.to_lowercase();
    let email_local = personal.email.split('@').next().unwrap_or("");
    let own = [
        personal.username,
        email_local,
        personal.first_name,
        personal.last_name,
    ];
    if own
        .iter()
        .map(|s| s.trim().to_lowercase())
        .any(|s| s.chars().count() >= 4 && lower.contains(&s))
    {
        return true;
    }
    // Try every split: a word (letters, possibly written with symbols) + a tail of digits and
    // punctuation.
    let chars: Vec<char> = password.chars().collect();
    (1..=chars.len()).any(|cut| {
        let (head, tail) = chars.split_at(cut);
        tail.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_punctuation())
            && words().contains(unleet(&head.iter().collect::<String>()).as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(p: &str) -> Vec<&'static str> {
        check_rules(p).into_iter().map(Rule::id).collect()
    }

    #[test]
    fn a_good_password_passes_every_rule() {
        assert!(check("Blue-Harbor-47", &Personal::default()).is_empty());
        assert!(
            check("ñandú-Río-92x", &Personal::default()).is_empty(),
            "other letters are allowed"
        );
    }

    #[test]
    fn each_rule_and_its_boundaries() {
        assert_eq!(ids("Ab1!qxz"), vec!["length"], "7 characters");
        assert!(ids("Ab1!qxzw").is_empty(), "8 characters");
        assert!(ids("Ab1!qxzwqxzwqxzwqxzw").is_empty(), "20 characters");
        assert_eq!(
            ids("Ab1!qxzwqxzwqxzwqxzwq"),
            vec!["length"],
            "21 characters"
        );
        // NFC: "é" written as e + combining accent is one character.
        assert!(ids("Ab1!e\u{301}qxz").is_empty());
        assert_eq!(ids("Ab1!e\u{301}qx"), vec!["length"]);
        assert_eq!(ids("Ab1! qxzw"), vec!["no_spaces"]);
        assert_eq!(ids("Ab1!\u{a0}qxzw"), vec!["no_spaces"], "no-break space");
        assert_eq!(
            ids("Ab1!\u{7}qxzw"),
            vec!["no_spaces"],
            "control characters"
        );
        assert_eq!(ids("Abx!qxzw"), vec!["number"]);
        assert_eq!(ids("AB1!QXZW"), vec!["lower"]);
        assert_eq!(ids("ab1!qxzw"), vec!["upper"]);
        assert_eq!(ids("Ab1xqxzw"), vec!["special"]);
        assert_eq!(ids("Ab1xqxz\u{f1}"), vec!["special"], "ñ is no special");
        assert!(ids("Xaaa1!qp").is_empty(), "three repeated is fine");
        assert_eq!(ids("Xaaaa1!q"), vec!["max_repeat"]);
        assert!(ids("XAAAa1!q").is_empty(), "case-sensitive");
        assert_eq!(ids("Q1111!xq"), vec!["max_repeat"]);
        assert_eq!(ids("Qx1234!q"), vec!["max_sequence"]);
        assert_eq!(ids("Qx6543!q"), vec!["max_sequence"]);
        assert!(ids("Qx123!qm").is_empty(), "three in a row is fine");
        assert_eq!(
            ids("QabcD1!m"),
            vec!["max_sequence"],
            "letters ignoring case"
        );
        assert_eq!(ids("DCBA1!xm"), vec!["max_sequence"]);
        assert_eq!(ids("aBcD1!xm"), vec!["max_sequence"]);
        assert!(ids("Q8901!xm").is_empty(), "no wrap-around 9→0");
        assert!(ids("Qyza1!xm").is_empty(), "no wrap-around z→a");
        assert!(
            ids("Qwer1!xm").is_empty(),
            "keyboard rows are not sequences"
        );
        assert!(
            ids("Q12ab!xm").is_empty(),
            "digit then letter breaks the run"
        );
        assert!(
            ids("Q1232!xm").is_empty(),
            "direction change breaks the run"
        );
    }

    #[test]
    fn common_passwords_and_own_names_are_refused() {
        let none = Personal::default();
        for p in [
            "Password1!",
            "PASSWORD1!",
            "P@ssw0rd!",
            "Summer2026!",
            "Welcome1!",
            "W3lcome#1",
            "Qwerty12!",
        ] {
            assert!(check(p, &none).contains(&Rule::NotCommon), "{p}");
        }
        assert!(!check("Blue-Harbor-47", &none).contains(&Rule::NotCommon));
        let me = Personal {
            username: "rosa.reyes",
            email: "rreyes@agency.test",
            first_name: "Rosa",
            last_name: "Reyes",
        };
        for p in ["xRosa-9!Blue", "Blue-REYES-7", "Go-rreyes-7!"] {
            assert_eq!(check(p, &me), vec![Rule::NotCommon], "{p}");
        }
        let short = Personal {
            first_name: "Al",
            ..Personal::default()
        };
        assert!(
            check("Al-Harbor-47", &short).is_empty(),
            "names under 4 characters do not count"
        );
    }
}
