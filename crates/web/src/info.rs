//! The pages every footer links to: privacy, the terms of use, accessibility and whom to
//! contact. Their words are in `locales/` (`info-<page>-…`); the terms are the documents the
//! program publishes, the same the agents accept.
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use hod_app::terms::TermsDoc;

use crate::AppState;
use crate::error::{PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::views::{InfoPage, InfoSection, PageMeta, TermsView};

/// Each page and how many sections (`info-<page>-<n>-heading` / `-text`) it has.
const PAGES: [(&str, usize); 4] = [
    ("privacy", 6),
    ("terms", 0),
    ("accessibility", 4),
    ("contact", 3),
];

fn page(lang: UiLang, name: &str, documents: Vec<TermsView>) -> Response {
    let t = Tr(lang);
    let sections = PAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, count)| *count);
    let path = format!("/{name}");
    let page = InfoPage {
        t,
        page: PageMeta::new(&path),
        title: t.get(&format!("info-{name}-title")),
        intro: t.get(&format!("info-{name}-intro")),
        sections: (1..=sections)
            .map(|i| InfoSection {
                heading: t.get(&format!("info-{name}-{i}-heading")),
                text: t.get(&format!("info-{name}-{i}-text")),
            })
            .collect(),
        documents,
    };
    render(&page, lang, &path)
}

pub async fn privacy(lang: UiLang) -> Response {
    page(lang, "privacy", Vec::new())
}

pub async fn accessibility(lang: UiLang) -> Response {
    page(lang, "accessibility", Vec::new())
}

pub async fn contact(lang: UiLang) -> Response {
    page(lang, "contact", Vec::new())
}

/// The terms of use in force, for anyone to read (the sign-up form links here).
pub async fn terms(State(s): State<AppState>, lang: UiLang) -> Response {
    match s.app.current_terms().await {
        Ok(docs) => page(
            lang,
            "terms",
            docs.iter().map(|d| terms_view(lang, d, false)).collect(),
        ),
        Err(e) => PageError::internal(lang, "/terms", e).into_response(),
    }
}

/// A terms document in the reader's language, in paragraphs.
pub fn terms_view(lang: UiLang, d: &TermsDoc, accepted: bool) -> TermsView {
    let (title, body) = match lang {
        UiLang::En => (&d.title_en, &d.body_en),
        UiLang::Es => (&d.title_es, &d.body_es),
    };
    TermsView {
        kind: d.kind.clone(),
        label: d.label(),
        version: d.version.clone(),
        title: title.clone(),
        paragraphs: body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        accepted,
    }
}
