//! Free text typed by people (names, notes, reasons), checked before it is stored: it reaches
//! emails, texts, agents' screens and operators' terminals, so it must be what it looks like.
//! Text is normalised to NFC; control characters and the Unicode bidirectional overrides are
//! refused (a hidden ESC or a right-to-left override can make text display or run as
//! something else).

use std::fmt::Write as _;

use unicode_normalization::UnicodeNormalization;

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// A control character (NUL, BEL, ESC, …; line breaks in a one-line field).
    #[error("contains a control character")]
    Control,
    /// An invisible character that changes the direction of the text around it.
    #[error("contains an invisible direction-changing character")]
    Bidi,
    /// A name with no letter in it (empty, punctuation only, or zero-width spaces).
    #[error("contains no letter")]
    NoLetter,
}

/// The explicit bidirectional formatting characters (Unicode's Bidi_Control property):
/// embeddings, overrides, isolates and the marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn checked(raw: &str, allow_newlines: bool) -> Result<String, TextError> {
    let text: String = if allow_newlines {
        raw.replace("\r\n", "\n").nfc().collect()
    } else {
        raw.nfc().collect()
    };
    for c in text.chars() {
        if c.is_control() && !(allow_newlines && matches!(c, '\n' | '\t')) {
            return Err(TextError::Control);
        }
        if is_bidi_control(c) {
            return Err(TextError::Bidi);
        }
    }
    Ok(text.trim().to_owned())
}

/// A one-line field (a name, a best time to call, a reason): NFC, trimmed, no control or
/// bidi characters (so no line breaks either).
pub fn single_line(raw: &str) -> Result<String, TextError> {
    checked(raw, false)
}

/// A note of several lines: like [`single_line`], but line breaks (`\n`, `\r\n`) and tabs
/// are kept.
pub fn multi_line(raw: &str) -> Result<String, TextError> {
    checked(raw, true)
}

/// A person's name: a one-line field with at least one letter (in any script).
pub fn name(raw: &str) -> Result<String, TextError> {
    let text = single_line(raw)?;
    if text.chars().any(char::is_alphabetic) {
        Ok(text)
    } else {
        Err(TextError::NoLetter)
    }
}

/// How [`visible`] writes a character it hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// `\u{1b}`, for people.
    Text,
    /// `\u001b`, valid inside a JSON string.
    Json,
}

/// Untrusted text made safe to print on a terminal: control characters other than line
/// breaks and tabs, and the bidi controls, are written as escapes instead of being sent to the
/// terminal, where an ESC sequence would run and an override would disguise the text.
pub fn visible(raw: &str, style: Escape) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| (c.is_control() && !matches!(c, '\n' | '\t')) || is_bidi_control(c);
    if !raw.chars().any(hidden) {
        return raw.into();
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        if !hidden(c) {
            out.push(c);
        } else if style == Escape::Json {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    out.into()
}

/// A cell for a CSV file that people open in a spreadsheet: a value starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return would be read as a formula, so it gets a leading `'`
/// (OWASP's advice for CSV injection).
pub fn csv_cell(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}").into()
    } else {
        raw.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_must_have_a_letter() {
        assert_eq!(name("  José  ").as_deref(), Ok("José"));
        // "e" + combining acute becomes the one precomposed letter.
        assert_eq!(name("Jose\u{301}").as_deref(), Ok("José"));
        assert_eq!(name("O'Brien-Núñez").as_deref(), Ok("O'Brien-Núñez"));
        assert_eq!(name("Nguyễn").as_deref(), Ok("Nguyễn"));
        assert_eq!(name("محمد").as_deref(), Ok("محمد"));
        assert_eq!(name("\u{200B}\u{200B}"), Err(TextError::NoLetter));
        assert_eq!(name("..."), Err(TextError::NoLetter));
        assert_eq!(name(""), Err(TextError::NoLetter));
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for raw in [
            "Jane\u{0}",
            "Ja\u{7}ne",
            "\u{1b}[31mJane",
            "Jane\r\nBcc: x",
            "Jane\nDoe",
            "Jane\u{9b}31m",
            "Jane\u{7f}",
        ] {
            assert_eq!(single_line(raw), Err(TextError::Control), "{raw:?}");
        }
        for raw in ["\u{202E}enaJ", "Jane\u{2066}", "a\u{200F}b"] {
            assert_eq!(single_line(raw), Err(TextError::Bidi), "{raw:?}");
        }
    }

    #[test]
    fn notes_keep_their_lines() {
        assert_eq!(
            multi_line("Called twice.\r\nCall back Monday.\n").as_deref(),
            Ok("Called twice.\nCall back Monday.")
        );
        assert_eq!(multi_line("a\u{1b}b"), Err(TextError::Control));
    }

    #[test]
    fn terminals_see_escapes_not_sequences() {
        assert_eq!(
            visible("\u{1b}[2J hi\u{7}", Escape::Text),
            "\\u{1b}[2J hi\\u{7}"
        );
        assert_eq!(visible("a\nb\u{202e}", Escape::Text), "a\nb\\u{202e}");
        assert_eq!(
            visible("x\u{9b}1m\u{7f}", Escape::Json),
            "x\\u009b1m\\u007f"
        );
        assert_eq!(visible("plain\ttext", Escape::Json), "plain\ttext");
    }

    #[test]
    fn spreadsheet_formulas_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1 713"), "'+1 713");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("Jane"), "Jane");
    }
}
