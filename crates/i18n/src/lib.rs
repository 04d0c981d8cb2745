//! Every text a person reads, in English and Spanish: pages and messages look their words up
//! in `locales/{en-US,es-US}/*.ftl`; [`letter`] makes emails and texts of them. A reader's
//! language comes from the `hod_lang` cookie (set by the switch on every page), else the
//! browser's `Accept-Language`, else English.
#![forbid(unsafe_code)]

pub mod letter;

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::Loader;
use fluent_templates::fluent_bundle::FluentValue;
use unic_langid::{LanguageIdentifier, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "../../locales",
        fallback_language: "en-US",
        // Pages are HTML: no Unicode isolation marks around placeables.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

pub const LANG_COOKIE: &str = "hod_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiLang {
    En,
    Es,
}

impl UiLang {
    pub const ALL: [UiLang; 2] = [UiLang::En, UiLang::Es];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// The name of the language in itself, for the switch.
    pub fn endonym(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Es => "Español",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "es" => Some(Self::Es),
            _ => None,
        }
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Self::En => langid!("en-US"),
            Self::Es => langid!("es-US"),
        }
    }

    /// The other language, offered by the switch.
    pub fn other(self) -> Self {
        match self {
            Self::En => Self::Es,
            Self::Es => Self::En,
        }
    }

    /// The best match for an `Accept-Language` header value, honouring q-values.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Self::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// Looks up texts in one language. Templates call `t.get("id")`.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub UiLang);

impl Tr {
    pub fn get(&self, id: &str) -> String {
        LOCALES.try_lookup(&self.0.langid(), id).unwrap_or_else(|| {
            tracing::error!(id, lang = self.0.code(), "missing translation");
            id.to_owned()
        })
    }

    pub fn get_with(&self, id: &str, args: &[(&'static str, String)]) -> String {
        self.find(id, args).unwrap_or_else(|| {
            tracing::error!(id, lang = self.0.code(), "missing translation");
            id.to_owned()
        })
    }

    /// The text of `id` with a number `name = n` among its arguments, for the plural forms
    /// (`{ $minutes -> [one] … *[other] … }`), which text arguments would not select.
    pub fn get_n(
        &self,
        id: &str,
        name: &'static str,
        n: i64,
        args: &[(&'static str, String)],
    ) -> String {
        let mut all = fluent_args(args);
        all.insert(Cow::Borrowed(name), n.into());
        LOCALES
            .try_lookup_with_args(&self.0.langid(), id, &all)
            .unwrap_or_else(|| {
                tracing::error!(id, lang = self.0.code(), "missing translation");
                id.to_owned()
            })
    }

    /// The text of `id`, or `None` when the locales have no such message (for optional
    /// parts, such as a letter's link label).
    pub fn find(&self, id: &str, args: &[(&'static str, String)]) -> Option<String> {
        LOCALES.try_lookup_with_args(&self.0.langid(), id, &fluent_args(args))
    }

    /// How a form field is named in an error summary (`label-<field>`), if it has a name.
    pub fn field_label(&self, field: &str) -> Option<String> {
        self.find(&format!("label-{field}"), &[])
    }

    pub fn lang(&self) -> UiLang {
        self.0
    }
}

/// A key that sorts names the way a reader of `lang` expects: case and accents do not count
/// (Míchigan comes before Minnesota), and in Spanish ñ comes after n. Ties keep the names
/// apart by their exact text.
pub fn collation_key(lang: UiLang, name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut key = String::with_capacity(name.len() + 8);
    let lower = name.to_lowercase();
    let mut chars = lower.nfd().peekable();
    while let Some(c) = chars.next() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        key.push(c);
        // ñ is a letter of its own in Spanish, after n (and after "nz").
        if lang == UiLang::Es && c == 'n' && chars.peek() == Some(&'\u{303}') {
            key.push('\u{7f}');
        }
    }
    key.push('\0');
    key.push_str(name);
    key
}

fn fluent_args(
    args: &[(&'static str, String)],
) -> HashMap<Cow<'static, str>, FluentValue<'static>> {
    args.iter()
        .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.clone())))
        .collect()
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for UiLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(negotiate(&parts.headers))
    }
}

/// The reader's language from a request's headers.
#[cfg(feature = "axum")]
pub fn negotiate(headers: &axum::http::HeaderMap) -> UiLang {
    use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
    let from_cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .and_then(|(_, v)| UiLang::parse(v));
    from_cookie
        .or_else(|| {
            headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(UiLang::from_accept_language)
        })
        .unwrap_or(UiLang::En)
}

/// An instant written out for a reader in `tz`: "November 28, 2026 at 4:00 PM CST" or
/// "28 de noviembre de 2026, 16:00 CST".
pub fn long_instant(lang: UiLang, at: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let local = at.to_zoned(tz.clone());
    match lang {
        UiLang::En => local.strftime("%B %-d, %Y at %-I:%M %p %Z").to_string(),
        UiLang::Es => format!(
            "{} de {} de {}, {}",
            local.day(),
            spanish_month(local.month()),
            local.year(),
            local.strftime("%H:%M %Z")
        ),
    }
}

/// The Spanish name of a month (1–12).
fn spanish_month(month: i8) -> &'static str {
    const MONTHS: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    MONTHS[usize::try_from(month.clamp(1, 12) - 1).unwrap_or(0)]
}

#[cfg(test)]
mod collation_tests {
    use super::{UiLang, collation_key};

    #[test]
    fn names_sort_as_their_readers_expect() {
        let mut states = vec!["Minnesota", "Misisipi", "Míchigan", "Massachusetts"];
        states.sort_by_key(|s| collation_key(UiLang::Es, s));
        assert_eq!(
            states,
            ["Massachusetts", "Míchigan", "Minnesota", "Misisipi"]
        );
        let mut words = vec!["ñandú", "nube", "oso", "Nzambi"];
        words.sort_by_key(|s| collation_key(UiLang::Es, s));
        assert_eq!(words, ["nube", "Nzambi", "ñandú", "oso"]);
        let mut langs = vec!["Árabe", "Alemán", "Amárico"];
        langs.sort_by_key(|s| collation_key(UiLang::Es, s));
        assert_eq!(langs, ["Alemán", "Amárico", "Árabe"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_honours_quality() {
        assert_eq!(
            UiLang::from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Some(UiLang::Es)
        );
        assert_eq!(
            UiLang::from_accept_language("fr-FR, en;q=0.5, es;q=0.7"),
            Some(UiLang::Es)
        );
        assert_eq!(UiLang::from_accept_language("fr"), None);
        assert_eq!(UiLang::from_accept_language("es;q=0"), None);
    }

    /// Every message id exists in both languages.
    #[test]
    fn locales_have_the_same_messages() {
        let ids = |lang: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../locales")
                .join(lang);
            let mut ids = Vec::new();
            for f in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
                ids.extend(text.lines().filter_map(|l| {
                    let (id, _) = l.split_once('=')?;
                    let id = id.trim_end();
                    (!l.starts_with([' ', '#', '.']) && !id.is_empty()).then(|| id.to_owned())
                }));
            }
            ids.sort();
            ids
        };
        let (en, es) = (ids("en-US"), ids("es-US"));
        assert!(!en.is_empty());
        assert_eq!(en, es);
        // Every variable any message uses, so that messages with variables resolve too.
        let args = [
            ("year", "2027".to_owned()),
            ("count", "29".to_owned()),
            ("when", "November 28, 2026".to_owned()),
            ("left", "3".to_owned()),
            ("state", "California".to_owned()),
            ("marketplace", "Covered California".to_owned()),
            ("phone", "1-800-318-2596".to_owned()),
            ("agent", "Jane D.".to_owned()),
            // Letters.
            ("name", "Ana Alvarez".to_owned()),
            ("first_name", "Ana".to_owned()),
            ("plan_year", "2027".to_owned()),
            ("expires", "November 28, 2026".to_owned()),
            ("username", "ana.alvarez".to_owned()),
            ("code", "123456".to_owned()),
            ("place", "Austin, TX 78701".to_owned()),
            ("language", "Tiếng Việt (Vietnamese)".to_owned()),
            ("reason", "change".to_owned()),
            ("until", "4:15 PM CST".to_owned()),
            ("expired", "4:15 PM CST".to_owned()),
            ("link", "https://hod.example/x".to_owned()),
            ("streak", "3".to_owned()),
            ("referral", "42".to_owned()),
            ("attempts", "5".to_owned()),
            ("minutes", "60".to_owned()),
            ("text", "Help On Demand: …".to_owned()),
            ("rules", "No spaces".to_owned()),
            // The console.
            ("share", "80%".to_owned()),
            ("hours", "26".to_owned()),
            ("rounds", "12".to_owned()),
            ("offered", "4".to_owned()),
            ("at", "November 28, 2026 at 4:15 PM CST".to_owned()),
            ("pending", "2".to_owned()),
            ("failed", "1".to_owned()),
            ("field", "From (day)".to_owned()),
            ("value", "tomorrow".to_owned()),
            ("considered", "30".to_owned()),
            ("qualified", "3".to_owned()),
            ("rows", "120".to_owned()),
            ("applied", "118".to_owned()),
            ("rejected", "2".to_owned()),
            ("file", "rcl.csv".to_owned()),
            ("received", "40".to_owned()),
            ("served", "36".to_owned()),
            ("requests", "40".to_owned()),
            ("available", "7".to_owned()),
            ("npn", "1234567".to_owned()),
            ("day", "2026-12-02".to_owned()),
            ("end", "2026-10-31".to_owned()),
            ("status", "T3".to_owned()),
            ("on", "2026-11-01".to_owned()),
            ("states", "CA, NY".to_owned()),
        ];
        for id in &en {
            for lang in UiLang::ALL {
                let text = Tr(lang).get_with(id, &args);
                assert!(
                    text != *id && !text.contains('{'),
                    "{id} resolves in {lang:?}: {text}"
                );
            }
        }
    }
}
