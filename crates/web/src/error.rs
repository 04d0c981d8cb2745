//! The one place where failures become responses. Pages get a page in the reader's
//! language; the API gets `{"error":{"code","message","fields"}}`. Internal errors are logged
//! once, with their whole chain and the request id, behind an opaque reference.
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use hod_app::storage_unavailable;

use crate::i18n::{Tr, UiLang};
use crate::views::{ErrorPage, PageMeta};

#[derive(Debug)]
pub enum PageError {
    NotFound {
        lang: UiLang,
        path: String,
    },
    /// A form posted from another site.
    Forbidden {
        lang: UiLang,
        path: String,
    },
    /// A console page or action the operator's role does not include.
    NotAllowed {
        lang: UiLang,
        path: String,
    },
    /// A request the server would not read: too slow (408), too large (413), not UTF-8
    /// (400).
    Refused {
        lang: UiLang,
        path: String,
        status: StatusCode,
    },
    /// The storage cannot be reached just now (503): try again shortly.
    Unavailable {
        lang: UiLang,
        path: String,
    },
    Internal {
        lang: UiLang,
        path: String,
        error: anyhow::Error,
    },
}

/// How long a client is asked to wait when the storage is unavailable, in seconds.
const RETRY_AFTER_SECS: &str = "5";

/// What a client is told when the storage is away.
const UNAVAILABLE: &str =
    "the service cannot reach its storage just now; send the same request again in a few seconds";

impl PageError {
    pub fn internal(
        lang: UiLang,
        path: impl Into<String>,
        error: impl Into<anyhow::Error>,
    ) -> Self {
        let error = error.into();
        if storage_unavailable(&error) {
            tracing::warn!(error = format!("{error:#}"), "storage unavailable");
            return Self::Unavailable {
                lang,
                path: path.into(),
            };
        }
        Self::Internal {
            lang,
            path: path.into(),
            error,
        }
    }

    /// A use case's failure: see [`OrPage`].
    pub fn from_app(lang: UiLang, path: &str, e: hod_app::AppError) -> Self {
        match e {
            hod_app::AppError::NotFound(_) => PageError::NotFound {
                lang,
                path: path.to_owned(),
            },
            hod_app::AppError::Forbidden => PageError::NotAllowed {
                lang,
                path: path.to_owned(),
            },
            e => PageError::internal(lang, path, e),
        }
    }
}

/// A use case's failure on a page: what does not exist is a 404 page, the storage being away a
/// 503, the rest is ours (500).
/// Handlers returning `Result<Response, PageError>` write `s.app.x().await.or_page(lang, path)?`.
pub trait OrPage<T> {
    fn or_page(self, lang: UiLang, path: &str) -> Result<T, PageError>;
}

impl<T> OrPage<T> for Result<T, hod_app::AppError> {
    fn or_page(self, lang: UiLang, path: &str) -> Result<T, PageError> {
        self.map_err(|e| PageError::from_app(lang, path, e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, lang, path, title, text, reference) = match self {
            PageError::NotFound { lang, path } => {
                let t = Tr(lang);
                (
                    StatusCode::NOT_FOUND,
                    lang,
                    path,
                    t.get("error-not-found-title"),
                    t.get("error-not-found-text"),
                    None,
                )
            }
            PageError::Forbidden { lang, path } => {
                let t = Tr(lang);
                (
                    StatusCode::FORBIDDEN,
                    lang,
                    path,
                    t.get("error-forbidden-title"),
                    t.get("error-forbidden-text"),
                    None,
                )
            }
            PageError::NotAllowed { lang, path } => {
                let t = Tr(lang);
                (
                    StatusCode::FORBIDDEN,
                    lang,
                    path,
                    t.get("error-not-allowed-title"),
                    t.get("error-not-allowed-text"),
                    None,
                )
            }
            PageError::Refused { lang, path, status } => {
                let t = Tr(lang);
                let key = match status {
                    StatusCode::REQUEST_TIMEOUT => "error-slow",
                    StatusCode::PAYLOAD_TOO_LARGE => "error-too-large",
                    _ => "error-encoding",
                };
                (
                    status,
                    lang,
                    path,
                    t.get(&format!("{key}-title")),
                    t.get(&format!("{key}-text")),
                    None,
                )
            }
            PageError::Unavailable { lang, path } => {
                let t = Tr(lang);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    path,
                    t.get("error-unavailable-title"),
                    t.get("error-unavailable-text"),
                    None,
                )
            }
            PageError::Internal { lang, path, error } => {
                let reference = random_reference();
                tracing::error!(reference, error = format!("{error:#}"), "request failed");
                let t = Tr(lang);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang,
                    path,
                    t.get("error-server-title"),
                    t.get("error-server-text"),
                    Some(reference),
                )
            }
        };
        let page = ErrorPage {
            t: Tr(lang),
            page: PageMeta::new(&path),
            title,
            text,
            reference,
        };
        match page.render() {
            Ok(html) if status == StatusCode::SERVICE_UNAVAILABLE => (
                status,
                [(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECS)],
                Html(html),
            )
                .into_response(),
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "rendering the error page failed");
                status.into_response()
            }
        }
    }
}

/// Renders a page, or the error page if the template fails.
pub fn render(t: &impl Template, lang: UiLang, path: &str) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => PageError::internal(lang, path, e).into_response(),
    }
}

/// A JSON API error: `{"error":{"code","message","fields"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Field name → what is wrong with it.
    pub fields: std::collections::BTreeMap<String, String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Default::default(),
        }
    }

    pub fn with_fields(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        fields: std::collections::BTreeMap<String, String>,
    ) -> Self {
        Self {
            fields,
            ..Self::new(status, code, message)
        }
    }

    /// Fields to correct (422 `invalid_fields`), each with its problem.
    pub fn invalid_fields(problems: &hod_app::fields::FieldProblems) -> Self {
        Self::with_fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
            "some fields need correcting",
            problems
                .iter()
                .map(|(f, p)| ((*f).to_owned(), p.message()))
                .collect(),
        )
    }

    /// A failure of ours: logged once with its whole chain, answered with a reference only.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        if storage_unavailable(&error) {
            tracing::warn!(error = format!("{error:#}"), "storage unavailable");
            return Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", UNAVAILABLE);
        }
        let reference = random_reference();
        tracing::error!(
            reference,
            error = format!("{error:#}"),
            "API request failed"
        );
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("something went wrong on our side; reference {reference}"),
        )
    }
}

/// A use case's failure on the API: 404 for what does not exist, 422 for input to fix, 409
/// for a conflict with what is stored; the rest is ours (logged, 500 with a reference).
impl From<hod_app::AppError> for ApiError {
    fn from(e: hod_app::AppError) -> Self {
        use hod_app::AppError;
        match e {
            AppError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such {what}"),
            ),
            AppError::Invalid(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            AppError::Refused { message, .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", message)
            }
            AppError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            e => Self::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message, "fields": self.fields } });
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110 §15.5.2: a 401 names the scheme that would be accepted.
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"hod\""),
            );
        }
        r
    }
}

fn random_reference() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).map_or_else(|_| "unknown".into(), |()| hex::encode(b))
}
