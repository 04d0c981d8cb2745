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

/// The read-only profile an open invitation shows.
#[derive(Debug, Clone)]
pub struct InvitedProfile {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// "This link works once, until …", in the page's language.
    pub expires: String,
}

/// Where an invitation link leads: the start of registration, or why it does not work.
#[derive(Debug, Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    pub t: Tr,
    pub page: PageMeta,
    pub title: String,
    pub text: String,
    pub profile: Option<InvitedProfile>,
    /// A button: (href, label).
    pub action: Option<(String, String)>,
}
