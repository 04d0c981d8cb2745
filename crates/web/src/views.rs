//! Page templates (askama, in `templates/`). Every page carries `t` (its language) and
//! `page` (what the layout needs).
use askama::Template;

use crate::i18n::Tr;

/// What the base layout needs from every page.
#[derive(Debug, Clone)]
pub struct PageMeta {
    /// Path of this page, for the language switch to come back to.
    pub path: String,
}

#[derive(Debug, Template)]
#[template(path = "landing.html")]
pub struct Landing {
    pub t: Tr,
    pub page: PageMeta,
    pub states_intro: Option<String>,
    pub state_names: Vec<String>,
}

#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub t: Tr,
    pub page: PageMeta,
    pub title: String,
    pub text: String,
    pub reference: Option<String>,
}
