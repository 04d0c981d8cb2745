//! Languages a consumer may ask for and an agent may speak (ISO 639-1 codes).
use std::fmt;
use std::sync::OnceLock;

const LANGUAGES_CSV: &str = include_str!("../../../data/languages.csv");

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageInfo {
    pub code: &'static str,
    /// In English.
    pub name: &'static str,
    /// In Spanish (capitalised, as a list item).
    pub name_es: &'static str,
    /// In the language itself.
    pub native_name: &'static str,
}

impl LanguageInfo {
    /// How a language is named to a reader, in the reader's words with its own beside them:
    /// "Vietnamese (Tiếng Việt)", "Vietnamita (Tiếng Việt)", "English", "Inglés (English)".
    /// `spanish`: the reader reads Spanish, else English.
    pub fn label(&self, spanish: bool) -> String {
        let name = if spanish { self.name_es } else { self.name };
        if name == self.native_name {
            name.to_owned()
        } else {
            format!("{name} ({})", self.native_name)
        }
    }
}

/// The bundled language list, in the order it is shown (most requested first).
pub fn languages() -> &'static [LanguageInfo] {
    static LIST: OnceLock<Vec<LanguageInfo>> = OnceLock::new();
    LIST.get_or_init(|| {
        LANGUAGES_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let mut f = line.splitn(4, ',');
                let mut next = || f.next().expect("data/languages.csv has four columns");
                LanguageInfo {
                    code: next(),
                    name: next(),
                    name_es: next(),
                    native_name: next(),
                }
            })
            .collect()
    })
}

/// A language from the bundled list.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lang(&'static LanguageInfo);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a supported language code (ISO 639-1, e.g. \"en\", \"es\")")]
pub struct UnknownLanguage(pub String);

impl Lang {
    pub fn parse(code: &str) -> Result<Self, UnknownLanguage> {
        let code = code.trim().to_ascii_lowercase();
        languages()
            .iter()
            .find(|l| l.code == code)
            .map(Lang)
            .ok_or(UnknownLanguage(code))
    }

    pub fn code(self) -> &'static str {
        self.0.code
    }

    pub fn info(self) -> &'static LanguageInfo {
        self.0
    }
}

impl TryFrom<String> for Lang {
    type Error = UnknownLanguage;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Lang> for String {
    fn from(value: Lang) -> Self {
        value.code().to_owned()
    }
}

impl fmt::Debug for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lang({})", self.code())
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_well_formed_and_unique() {
        let list = languages();
        assert!(list.len() > 40);
        let mut codes: Vec<_> = list.iter().map(|l| l.code).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase()))
        );
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), list.len());
        assert_eq!(list[0].code, "en");
        assert_eq!(list[1].code, "es");
    }

    #[test]
    fn parses_codes_case_insensitively() {
        assert_eq!(Lang::parse(" ES ").unwrap().info().native_name, "Español");
        assert_eq!(Lang::parse("xx"), Err(UnknownLanguage("xx".into())));
    }
}
