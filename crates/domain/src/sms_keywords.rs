//! What a person may text back (SPEC.md §7.1): the opt-out, opt-in and help keywords carriers
//! and Twilio recognise, in English and Spanish.

/// What a texted keyword asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// No more texts.
    Stop,
    /// Texts again.
    Start,
    /// Who is texting, and where to get help.
    Help,
}

/// The keyword a whole text is (case and surrounding spaces ignored), and whether it was a
/// Spanish one (to answer in Spanish).
pub fn parse(text: &str) -> Option<(Keyword, bool)> {
    let word = text.trim().trim_end_matches(['.', '!']).to_uppercase();
    Some(match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => (Keyword::Stop, false),
        "PARAR" | "ALTO" => (Keyword::Stop, true),
        "START" | "UNSTOP" | "YES" => (Keyword::Start, false),
        "HELP" => (Keyword::Help, false),
        "AYUDA" => (Keyword::Help, true),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{Keyword, parse};

    #[test]
    fn keywords_in_both_languages_and_nothing_else() {
        assert_eq!(parse(" stop "), Some((Keyword::Stop, false)));
        assert_eq!(parse("Parar"), Some((Keyword::Stop, true)));
        assert_eq!(parse("ALTO."), Some((Keyword::Stop, true)));
        assert_eq!(parse("unstop"), Some((Keyword::Start, false)));
        assert_eq!(parse("ayuda"), Some((Keyword::Help, true)));
        assert_eq!(
            parse("please stop"),
            None,
            "only a whole-text keyword counts"
        );
        assert_eq!(parse("Hola"), None);
    }
}
