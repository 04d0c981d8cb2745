//! `/admin/imports`: an administrator uploads a CMS file (the same use case as `hod import`),
//! applied or only checked; the summary and the rejected-row report on screen and as CSV; the
//! history of past imports.
use std::io::{Seek, Write};

use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::import::{ImportKind, ImportOptions, Source};

use super::{Administrator, meta, views, when};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};

/// Rejected rows shown on the page; all of them are in the CSV.
const SHOWN: usize = 500;

pub async fn page(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
) -> Result<Response, PageError> {
    imports_page(&s, lang, &op, None).await
}

async fn imports_page(
    s: &AppState,
    lang: UiLang,
    op: &hod_app::operators::OperatorSession,
    error: Option<String>,
) -> Result<Response, PageError> {
    let path = "/admin/imports";
    let t = Tr(lang);
    let history = s.app.import_history(100).await.or_page(lang, path)?;
    let page = views::ImportsPage {
        t,
        page: meta(op, path),
        kinds: ImportKind::ALL
            .iter()
            .map(|k| {
                (
                    k.as_str().to_owned(),
                    t.get(&format!("import-kind-{}", k.as_str())),
                )
            })
            .collect(),
        history: history
            .iter()
            .map(|i| views::ImportHistoryLine {
                id: i.id,
                kind: t.get(&format!("import-kind-{}", i.kind)),
                file: i.file_name.clone(),
                at: jiff::Timestamp::from_millisecond(i.imported_at)
                    .map(|at| when(s, lang, at))
                    .unwrap_or_default(),
                actor: i.actor.clone(),
                rows: i.rows_read,
                applied: i.rows_applied,
                rejected: rejected_count(&i.rejected),
                dry_run: i.dry_run,
            })
            .collect(),
        error,
    };
    let mut r = render(&page, lang, path);
    if page.error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

fn rejected_rows(json: &str) -> Vec<(u64, String)> {
    serde_json::from_str::<Vec<serde_json::Value>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn rejected_count(json: &str) -> usize {
    serde_json::from_str::<Vec<serde_json::Value>>(json).map_or(0, |v| v.len())
}

/// The upload: `kind`, `dry_run` (present when only checking) and `file`, in that order.
pub async fn upload(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let path = "/admin/imports";
    let mut kind = None;
    let mut dry_run = false;
    let mut file = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return imports_page(&s, lang, &op, Some(t.get("console-import-unreadable"))).await;
            }
        };
        match field.name() {
            Some("kind") => {
                kind = field
                    .text()
                    .await
                    .ok()
                    .and_then(|k| ImportKind::parse(k.trim()));
            }
            Some("dry_run") => dry_run = true,
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                match spool(field).await {
                    Ok((spooled, bytes)) if bytes > 0 && !name.is_empty() => {
                        file = Some((name, spooled));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        return imports_page(
                            &s,
                            lang,
                            &op,
                            Some(t.get("console-import-unreadable")),
                        )
                        .await;
                    }
                }
            }
            _ => {}
        }
    }
    let Some(kind) = kind else {
        return imports_page(&s, lang, &op, Some(t.get("console-import-no-kind"))).await;
    };
    let Some((name, spooled)) = file else {
        return imports_page(&s, lang, &op, Some(t.get("console-import-no-file"))).await;
    };
    let source = Source {
        name: name.clone(),
        reader: Box::new(std::io::BufReader::new(spooled)),
    };
    let opts = ImportOptions {
        dry_run,
        actor: op.actor(),
        ..ImportOptions::default()
    };
    let report = match s.app.import(kind, source, opts).await {
        Ok(r) => r,
        Err(hod_app::AppError::Invalid(why)) => {
            let text = t.get_with("console-import-refused", &[("file", name), ("reason", why)]);
            return imports_page(&s, lang, &op, Some(text)).await;
        }
        Err(e) => return Err(PageError::internal(lang, path, e)),
    };
    let record = match report.record {
        Some(id) => id,
        None => s
            .app
            .record_dry_run(kind, &report, op.actor())
            .await
            .or_page(lang, path)?,
    };
    Ok(Redirect::to(&format!("/admin/imports/{record}")).into_response())
}

/// Writes an uploaded file to an unnamed temporary file (removed when dropped) and rewinds it.
async fn spool(
    mut field: axum::extract::multipart::Field<'_>,
) -> std::io::Result<(std::fs::File, u64)> {
    let mut file = tempfile::tempfile()?;
    let mut bytes = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(std::io::Error::other)? {
        bytes += chunk.len() as u64;
        file.write_all(&chunk)?;
    }
    file.rewind()?;
    Ok((file, bytes))
}

pub async fn report(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let path = format!("/admin/imports/{id}");
    let t = Tr(lang);
    let i = s.app.import_record(id).await.or_page(lang, &path)?;
    let rejected = rejected_rows(&i.rejected);
    let page = views::ImportPage {
        t,
        page: meta(&op, &path),
        id,
        kind: t.get(&format!("import-kind-{}", i.kind)),
        file: i.file_name.clone(),
        at: jiff::Timestamp::from_millisecond(i.imported_at)
            .map(|at| when(&s, lang, at))
            .unwrap_or_default(),
        actor: i.actor.clone(),
        sha256: i.sha256.clone(),
        summary: t.get_with(
            if i.dry_run {
                "console-import-checked"
            } else {
                "console-import-applied"
            },
            &[
                ("rows", i.rows_read.to_string()),
                ("applied", i.rows_applied.to_string()),
                ("rejected", rejected.len().to_string()),
            ],
        ),
        more: rejected.len().saturating_sub(SHOWN),
        rejected: rejected.into_iter().take(SHOWN).collect(),
    };
    Ok(render(&page, lang, &path))
}

/// The rejected rows as CSV: `line,reason`.
pub async fn rejected_csv(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(_): Administrator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let path = format!("/admin/imports/{id}/rejected.csv");
    let i = s.app.import_record(id).await.or_page(lang, &path)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["line", "reason"])
        .map_err(|e| PageError::internal(lang, &path, e))?;
    for (line, reason) in rejected_rows(&i.rejected) {
        out.write_record([line.to_string(), reason])
            .map_err(|e| PageError::internal(lang, &path, e))?;
    }
    let body = out
        .into_inner()
        .map_err(|e| PageError::internal(lang, &path, anyhow::anyhow!("{e}")))?;
    let stem: String = i
        .file_name
        .rsplit('/')
        .next()
        .unwrap_or("import")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}-rejected.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}
