//! Letters: the emails, texts and push notifications the system sends. Their words are in the
//! locales, named after the letter — `letter-<name>-subject`, `letter-<name>-body` (paragraphs
//! separated by blank lines), `letter-<name>-action` (the label of its link, where it has
//! one) and `letter-<name>-short` (the text or push version, where it has one) — and an email's
//! HTML is `templates/email.html`.
use askama::Template;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::{Tr, UiLang, long_instant};

/// A letter before it is written out in a language: which one, and what fills it in.
#[derive(Debug, Clone)]
pub struct Letter {
    name: &'static str,
    args: Vec<(&'static str, Value)>,
    link: Option<String>,
}

/// What fills a placeholder: text, or an instant written out in each language its own way.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    /// Words that differ by language: (English, Spanish).
    Words(String, String),
    /// "November 28, 2026 at 4:00 PM CST" / "28 de noviembre de 2026, 16:00 CST".
    Long(Timestamp, TimeZone),
    /// "4:00 PM CST" / "16:00 CST".
    Clock(Timestamp, TimeZone),
}

impl Value {
    fn in_lang(&self, lang: UiLang) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Words(en, es) => match lang {
                UiLang::En => en.clone(),
                UiLang::Es => es.clone(),
            },
            Self::Long(at, tz) => long_instant(lang, *at, tz),
            Self::Clock(at, tz) => {
                let local = at.to_zoned(tz.clone());
                match lang {
                    UiLang::En => local.strftime("%-I:%M %p %Z").to_string(),
                    UiLang::Es => local.strftime("%H:%M %Z").to_string(),
                }
            }
        }
    }
}

/// An email ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Letter {
    /// The letter whose texts are `letter-<name>-…`.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            args: Vec::new(),
            link: None,
        }
    }

    /// A value its texts use as `{ $key }`.
    #[must_use]
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.args.push((key, Value::Text(value.into())));
        self
    }

    /// An instant its texts use as `{ $key }`, with its date, in `tz`.
    #[must_use]
    pub fn at(mut self, key: &'static str, at: Timestamp, tz: &TimeZone) -> Self {
        self.args.push((key, Value::Long(at, tz.clone())));
        self
    }

    /// Words its texts use as `{ $key }`, given in English and in Spanish (a language's
    /// name, say).
    #[must_use]
    pub fn words(mut self, key: &'static str, en: String, es: String) -> Self {
        self.args.push((key, Value::Words(en, es)));
        self
    }

    /// An instant its texts use as `{ $key }`, as a time of day in `tz`.
    #[must_use]
    pub fn clock(mut self, key: &'static str, at: Timestamp, tz: &TimeZone) -> Self {
        self.args.push((key, Value::Clock(at, tz.clone())));
        self
    }

    /// Every instant of the letter written in `tz` (the reader's own time zone).
    #[must_use]
    pub fn in_zone(mut self, tz: &TimeZone) -> Self {
        for (_, value) in &mut self.args {
            match value {
                Value::Long(_, zone) | Value::Clock(_, zone) => *zone = tz.clone(),
                Value::Text(_) | Value::Words(..) => {}
            }
        }
        self
    }

    fn args(&self, lang: UiLang) -> Vec<(&'static str, String)> {
        self.args
            .iter()
            .map(|(k, v)| (*k, v.in_lang(lang)))
            .collect()
    }

    /// The page the letter leads to: its texts can use it as `{ $link }`, and the email shows
    /// it as a button labelled `letter-<name>-action`.
    #[must_use]
    pub fn link(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.args.push(("link", Value::Text(url.clone())));
        self.link = Some(url);
        self
    }

    fn text(&self, lang: UiLang, part: &str) -> String {
        Tr(lang).get_with(&format!("letter-{}-{part}", self.name), &self.args(lang))
    }

    /// The letter as an email in `lang`.
    pub fn email(&self, lang: UiLang) -> Email {
        self.email_in(&[lang])
    }

    /// The letter as one email in English and then Spanish, for someone whose language is
    /// not known yet (an invitation).
    pub fn email_in_both(&self) -> Email {
        self.email_in(&UiLang::ALL)
    }

    fn email_in(&self, langs: &[UiLang]) -> Email {
        let sections: Vec<Section> = langs.iter().map(|&lang| self.section(lang)).collect();
        let subject = sections
            .iter()
            .map(|s| s.subject.as_str())
            .collect::<Vec<_>>()
            .join(" / ");
        let text = sections
            .iter()
            .map(Section::text)
            .collect::<Vec<_>>()
            .join("\n\n---\n\n");
        let html = Html {
            lang: langs.first().copied().unwrap_or(UiLang::En).code(),
            subject: &subject,
            sections: &sections,
        }
        .render()
        // The template is compiled in; rendering it cannot fail on strings.
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, letter = self.name, "email template");
            String::new()
        });
        Email {
            subject,
            text,
            html,
        }
    }

    fn section(&self, lang: UiLang) -> Section {
        let tr = Tr(lang);
        let body = self.text(lang, "body");
        let action = self.link.as_ref().map(|url| Action {
            label: tr
                .find(&format!("letter-{}-action", self.name), &self.args(lang))
                .unwrap_or_else(|| url.clone()),
            url: url.clone(),
        });
        Section {
            lang: lang.code(),
            subject: self.text(lang, "subject"),
            paragraphs: body
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| p.lines().map(str::to_owned).collect())
                .collect(),
            action,
            footer: tr.get("letter-footer"),
        }
    }

    /// The letter as a text message in `lang`.
    pub fn short(&self, lang: UiLang) -> String {
        self.text(lang, "short")
    }

    /// The letter as a push notification's text in `lang`.
    pub fn push(&self, lang: UiLang) -> String {
        self.text(lang, "push")
    }

    /// The letter's subject in `lang` (a push notification's title).
    pub fn subject(&self, lang: UiLang) -> String {
        self.text(lang, "subject")
    }
}

/// One language's part of an email.
#[derive(Debug)]
struct Section {
    lang: &'static str,
    subject: String,
    /// Paragraphs, each as its lines.
    paragraphs: Vec<Vec<String>>,
    action: Option<Action>,
    footer: String,
}

#[derive(Debug)]
struct Action {
    label: String,
    url: String,
}

impl Section {
    fn text(&self) -> String {
        let mut text = self
            .paragraphs
            .iter()
            .map(|p| p.join("\n"))
            .collect::<Vec<_>>()
            .join("\n\n");
        if let Some(a) = &self.action {
            text.push_str(&format!("\n\n{}:\n{}", a.label, a.url));
        }
        text.push_str(&format!("\n\n-- \n{}\n", self.footer));
        text
    }
}

#[derive(Template)]
#[template(path = "email.html")]
struct Html<'a> {
    lang: &'a str,
    subject: &'a str,
    sections: &'a [Section],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout() -> Letter {
        Letter::new("locked")
            .with("first_name", "Ana <b>")
            .with("attempts", "5")
            .with("minutes", "60")
            .link("https://hod.example/agent/forgot-password?a=1&b=2")
    }

    #[test]
    fn an_email_has_paragraphs_a_link_and_a_footer_in_text_and_html() {
        let mail = lockout().email(UiLang::Es);
        assert!(mail.subject.contains("bloqueada"), "{}", mail.subject);
        assert!(mail.text.starts_with("Hola, Ana <b>:\n\n"), "{}", mail.text);
        assert!(
            mail.text
                .contains(":\nhttps://hod.example/agent/forgot-password?a=1&b=2\n\n-- \n"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("<html lang=\"es\">"), "{}", mail.html);
        assert!(mail.html.contains("Ana &#60;b&#62;"), "{}", mail.html);
        assert!(
            mail.html
                .contains("href=\"https://hod.example/agent/forgot-password?a=1&#38;b=2\""),
            "{}",
            mail.html
        );
        assert!(mail.html.matches("<p ").count() >= 4, "{}", mail.html);
    }

    #[test]
    fn a_letter_in_both_languages_is_english_then_spanish() {
        let mail = lockout().email_in_both();
        let (en, es) = mail.text.split_once("\n\n---\n\n").expect("two parts");
        assert!(en.starts_with("Hello Ana <b>,"), "{en}");
        assert!(es.starts_with("Hola, Ana <b>:"), "{es}");
        assert!(mail.subject.contains(" / "));
        assert!(mail.html.contains("lang=\"es\""));
    }
}
