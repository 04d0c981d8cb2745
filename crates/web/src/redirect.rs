//! Where the site may send a browser back to. Every `next` / return target goes through
//! [`same_site_path`], so a link can never redirect a visitor to another site.
use axum::response::{IntoResponse, Redirect, Response};

/// `raw` as a path on this site (path, query and fragment, normalised), or `None` when it is
/// not one: empty, not starting with `/`, with a scheme or host, a backslash, a control
/// character (a tab or line break would be dropped by the browser, turning `/<TAB>/evil` into
/// `//evil`), or a path that still starts with `//` once `.` and `..` segments are resolved.
pub fn same_site_path(raw: &str) -> Option<String> {
    let plain = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(char::is_control);
    if !plain {
        return None;
    }
    let base = url::Url::parse("http://this-site.invalid/").expect("static URL");
    let url = base.join(raw).ok()?;
    if url.origin() != base.origin() || url.path().starts_with("//") {
        return None;
    }
    let mut out = url.path().to_owned();
    if let Some(q) = url.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = url.fragment() {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

/// `page` with `?next=back` (plus `extra` pairs) when `back` is a path on this site: a page
/// that sends the browser back there when it is done (the log-in page, the terms).
pub fn then_back(page: &str, back: Option<&str>, extra: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(back) = back.and_then(same_site_path) {
        query.append_pair("next", &back);
    }
    query.extend_pairs(extra);
    match query.finish() {
        q if q.is_empty() => page.to_owned(),
        q => format!("{page}?{q}"),
    }
}

/// `303 See Other` to `next` when it is a path on this site, else to `fallback`.
pub fn back_to(next: Option<&str>, fallback: &'static str) -> Response {
    let to = next.and_then(same_site_path);
    Redirect::to(to.as_deref().unwrap_or(fallback)).into_response()
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn paths_on_this_site_are_kept_normalised() {
        assert_eq!(same_site_path("/").as_deref(), Some("/"));
        assert_eq!(
            same_site_path("/agent/referrals?m=saved#offers").as_deref(),
            Some("/agent/referrals?m=saved#offers")
        );
        assert_eq!(same_site_path("/a/../b/./c").as_deref(), Some("/b/c"));
        assert_eq!(same_site_path("/get help").as_deref(), Some("/get%20help"));
    }

    #[test]
    fn pages_that_come_back() {
        use super::then_back;
        assert_eq!(
            then_back(
                "/agent/login",
                Some("/agent/referrals?offer=7"),
                &[("ended", "session")]
            ),
            "/agent/login?next=%2Fagent%2Freferrals%3Foffer%3D7&ended=session"
        );
        assert_eq!(
            then_back("/agent/terms", Some("//evil.example"), &[]),
            "/agent/terms"
        );
        assert_eq!(then_back("/agent/terms", None, &[]), "/agent/terms");
    }

    #[test]
    fn anything_that_could_leave_the_site_is_refused() {
        for raw in [
            "",
            "evil.example",
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/a\r\nb",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/.//evil.example",
            "/..//evil.example",
            "/a/..//evil.example",
            "/\u{0}x",
            "/\u{7f}x",
        ] {
            assert_eq!(same_site_path(raw), None, "{raw:?}");
        }
    }
}
