//! The parsers every form and import goes through, fed arbitrary text and text shaped like
//! what people type: none may panic, and what one accepts it must accept again unchanged
//! (so a value stored and read back, or typed again, means the same thing).
//!
//! CI runs the default number of cases; a long run (docs/security.md):
//! `PROPTEST_CASES=2000000 cargo test --release -p hod-domain --test parsers_fuzz`.
use hod_domain::account::{ContactMethod, PhoneE164, Username, plausible_email};
use hod_domain::availability::{Mode, parse_time};
use hod_domain::npn::Npn;
use hod_domain::{Lang, UsState, Zip, password, text};
use proptest::prelude::*;

/// Any text, with a bias to what breaks parsers: controls, Unicode spaces and digits,
/// combining marks, right-to-left and surrogate-adjacent characters, very long runs.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \\t\\r\\n\\u{0}\\u{7f}\\u{a0}\\u{2028}\\u{202e}\\u{feff}\\u{301}0-9a-zA-Z+().,@_-]{0,40}",
        "[\\u{660}-\\u{669}\\u{ff10}-\\u{ff19}0-9 +()-]{0,30}",
        "[0-9]{0,400}",
    ]
}

/// What people type into a phone field.
fn phone_like() -> impl Strategy<Value = String> {
    "[+]?1?[ .(-]{0,2}[0-9]{3}[ .)-]{0,2}[0-9]{3}[ .-]?[0-9]{4}( ?(x|ext\\.?) ?[0-9]{1,5})?"
}

/// What people choose as passwords: a word, perhaps written with symbols, then digits and
/// punctuation.
fn password_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z@$310!]{1,12}[0-9!.#-]{0,6}",
        "(Password|password|Qwerty|Dragon|Monkey|Sunshine|P@ssw0rd)[0-9!.#-]{0,6}",
    ]
}

proptest! {
    #[test]
    fn phones(raw in prop_oneof![nasty(), phone_like()]) {
        if let Ok(p) = PhoneE164::parse(&raw) {
            prop_assert_eq!(PhoneE164::parse(p.as_str()), Ok(p.clone()));
            prop_assert_eq!(PhoneE164::parse(&p.national()), Ok(p));
        }
        if let Ok(p) = PhoneE164::parse_textable(&raw) {
            prop_assert_eq!(PhoneE164::parse(&raw), Ok(p));
        }
    }

    #[test]
    fn zips(raw in prop_oneof![nasty(), "[0-9]{5}(-[0-9]{4})?", " ?[0-9]{3,6} ?"]) {
        if let Ok(z) = Zip::parse(&raw) {
            prop_assert_eq!(Zip::parse(&z.to_string()), Ok(z));
        }
    }

    #[test]
    fn npns(raw in prop_oneof![nasty(), "0{0,3}[0-9]{1,12}"]) {
        if let Ok(n) = Npn::parse(&raw) {
            prop_assert_eq!(Npn::parse(n.as_str()), Ok(n.clone()));
            prop_assert_eq!(n.as_str().parse::<u64>().ok(), Some(n.as_u64()));
        }
    }

    #[test]
    fn usernames_codes_choices_and_times(
        raw in prop_oneof![nasty(), " ?(email_[a-z_]{0,10}|schedule|available|unavailable) ?"],
    ) {
        if let Ok(u) = Username::parse(&raw) {
            prop_assert_eq!(Username::parse(u.as_str()), Ok(u.clone()));
            prop_assert_eq!(Username::parse(&u.key()).map(|k| k.key()), Ok(u.key()));
        }
        if let Ok(s) = UsState::parse(&raw) {
            prop_assert_eq!(UsState::parse(s.code()), Ok(s));
        }
        if let Ok(l) = Lang::parse(&raw) {
            prop_assert_eq!(Lang::parse(l.code()), Ok(l));
        }
        if let Ok(t) = parse_time(&raw) {
            prop_assert_eq!(parse_time(&t.strftime("%H:%M").to_string()), Ok(t));
        }
        if let Some(c) = ContactMethod::parse(&raw) {
            prop_assert_eq!(ContactMethod::parse(c.id()), Some(c));
        }
        if let Some(m) = Mode::parse(&raw) {
            prop_assert_eq!(Mode::parse(m.id()), Some(m));
        }
        let _ = plausible_email(&raw);
    }

    #[test]
    fn free_text(raw in nasty()) {
        for clean in [text::name, text::single_line, text::multi_line] {
            if let Ok(v) = clean(&raw) {
                prop_assert_eq!(clean(&v), Ok(v.clone()), "cleaning twice changes nothing");
            }
        }
        let _ = text::visible(&raw, text::Escape::Json);
        let _ = text::csv_cell(&raw);
    }

    #[test]
    fn passwords(
        raw in prop_oneof![nasty(), password_like()],
        name in prop_oneof![nasty(), "[a-z.]{0,12}"],
        email in nasty(),
    ) {
        let personal = password::Personal {
            username: &name,
            email: &email,
            first_name: &name,
            last_name: "",
        };
        let broken = password::check(&raw, &personal);
        let rules = password::check_rules(&raw);
        prop_assert_eq!(&broken[..rules.len()], &rules[..], "the eight rules, then not_common");
        prop_assert!(broken.len() <= rules.len() + 1);
        let mut sorted = broken.clone();
        sorted.dedup();
        prop_assert_eq!(&sorted, &broken, "each rule named once");
        // A common word with digits and punctuation after it is refused, however it is written.
        let common_then_symbols = ["Password", "Qwerty", "Dragon", "Monkey", "Sunshine", "P@ssw0rd"]
            .iter()
            .filter_map(|w| raw.strip_prefix(w))
            .any(|tail| tail.chars().all(|c| c.is_ascii_digit() || c.is_ascii_punctuation()));
        if common_then_symbols {
            prop_assert!(broken.contains(&password::Rule::NotCommon), "{raw}");
        }
        // A password holding the account's own name (4 characters or more) is refused.
        if name.is_ascii() && name.trim().len() >= 4 {
            let with_name = format!("{raw}{name}");
            prop_assert!(password::check(&with_name, &personal).contains(&password::Rule::NotCommon));
        }
    }
}
