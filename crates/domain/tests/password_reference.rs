//! The password rules against a second implementation written from SPEC.md §3.1 in another
//! style (explicit code-point tables, fixed windows), on generated passwords that crowd the
//! edges: lengths around 8 and 20, runs of 3–5, sequences across case and class changes,
//! Unicode spaces, controls and combining accents.
use hod_domain::password::{Rule, check_rules};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

const SPECIALS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

fn is_white_space(c: u32) -> bool {
    matches!(c, 0x9..=0xD | 0x20 | 0x85 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000)
}

fn is_control(c: u32) -> bool {
    matches!(c, 0x0..=0x1F | 0x7F..=0x9F)
}

fn reference(password: &str) -> Vec<&'static str> {
    let cps: Vec<u32> = password.nfc().map(u32::from).collect();
    let mut failed = Vec::new();
    if cps.iter().any(|&c| is_white_space(c) || is_control(c)) {
        failed.push("no_spaces");
    }
    if cps.len() < 8 || cps.len() > 20 {
        failed.push("length");
    }
    let any_in = |lo: u8, hi: u8| {
        cps.iter()
            .any(|&c| (u32::from(lo)..=u32::from(hi)).contains(&c))
    };
    if !any_in(b'0', b'9') {
        failed.push("number");
    }
    if !any_in(b'a', b'z') {
        failed.push("lower");
    }
    if !any_in(b'A', b'Z') {
        failed.push("upper");
    }
    if !cps
        .iter()
        .any(|&c| SPECIALS.chars().any(|s| u32::from(s) == c))
    {
        failed.push("special");
    }
    if cps
        .windows(4)
        .any(|w| w[0] == w[1] && w[1] == w[2] && w[2] == w[3])
    {
        failed.push("max_repeat");
    }
    let digit = |c: u32| (0x30..=0x39).contains(&c);
    let letter = |c: u32| (0x41..=0x5A).contains(&c) || (0x61..=0x7A).contains(&c);
    let fold = |c: u32| {
        if (0x41..=0x5A).contains(&c) {
            c + 32
        } else {
            c
        }
    };
    let sequence = cps.windows(4).any(|w| {
        let same_class = w.iter().all(|&c| digit(c)) || w.iter().all(|&c| letter(c));
        let v: Vec<i64> = w.iter().map(|&c| i64::from(fold(c))).collect();
        same_class
            && ((v[1] - v[0] == 1 && v[2] - v[1] == 1 && v[3] - v[2] == 1)
                || (v[0] - v[1] == 1 && v[1] - v[2] == 1 && v[2] - v[3] == 1))
    });
    if sequence {
        failed.push("max_sequence");
    }
    failed
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-dA-DxyzXYZ]".prop_map(String::from),
        3 => "[0-9]".prop_map(String::from),
        2 => "[!@#_~-]".prop_map(String::from),
        1 => Just(" ".to_owned()),
        1 => Just("\u{a0}".to_owned()),
        1 => Just("\u{7}".to_owned()),
        1 => Just("é".to_owned()),
        1 => Just("e\u{301}".to_owned()),
        1 => Just("ñ".to_owned()),
        2 => "[aA1]{3,5}".prop_map(String::from),
        2 => Just("abcd".to_owned()),
        1 => Just("aBcD".to_owned()),
        1 => Just("9876".to_owned()),
        1 => Just("890".to_owned()),
        1 => Just("yza".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn policy_agrees_with_the_reference(parts in proptest::collection::vec(piece(), 0..14)) {
        let password: String = parts.concat();
        let ours: Vec<&str> = check_rules(&password).into_iter().map(Rule::id).collect();
        prop_assert_eq!(ours, reference(&password), "password {:?}", password);
    }
}
