//! What the HTTP tests of accounts share: registering invited agents through the API, posting
//! forms and JSON as a browser on this site would, and reading the session cookie.
use hod_db::outbox::MessageRow;
use hod_test_support::TestApp;
use serde_json::{Value, json};

pub const PASSWORD: &str = "Blue-Harbor-47";

/// The invitation token in the email to `email`.
pub fn invitation_token(mail: &[MessageRow], email: &str) -> String {
    let m = mail
        .iter()
        .find(|m| m.recipient == email)
        .unwrap_or_else(|| panic!("no email to {email}"));
    crate::eligibility::link_path(&m.body)
        .trim_start_matches("/register/")
        .to_owned()
}

/// Registers through `POST /api/v1/registrations` with [`PASSWORD`] and a Houston phone.
pub async fn register(t: &TestApp, token: &str, username: &str, zip: &str, contact_method: &str) {
    let r = t
        .client
        .post(t.url("/api/v1/registrations"))
        .json(&json!({"token": token, "phone": "713-555-0101", "contact_method": contact_method, "zip": zip,
            "username": username, "password": PASSWORD, "confirm_password": PASSWORD, "accept_terms": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
}

/// Sends a post as a page of this site would (its `Origin`), with the session cookie when given.
async fn send(
    t: &TestApp,
    req: reqwest::RequestBuilder,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = req.header("origin", t.url(""));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

/// A page, with the session cookie when given.
pub async fn get(t: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = t.client.get(t.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

/// A page's text, which must have been answered with 200.
pub async fn page(t: &TestApp, path: &str, cookie: &str) -> String {
    let r = get(t, path, Some(cookie)).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// A form post from this site.
pub async fn post(
    t: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    send(t, t.client.post(t.url(path)).form(form), cookie).await
}

/// A JSON post from this site's scripts.
pub async fn post_json(
    t: &TestApp,
    path: &str,
    body: &Value,
    cookie: Option<&str>,
) -> reqwest::Response {
    send(t, t.client.post(t.url(path)).json(body), cookie).await
}

/// The `hod_session=…` a response sets, if any.
pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    set_cookie(r, "hod_session")
}

/// The `name=…` cookie a response sets, if any (without its attributes).
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.split_once('=').is_some_and(|(n, _)| n == name))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// Logs in with a password; the session cookie on success.
pub async fn login(t: &TestApp, username: &str, password: &str) -> Option<String> {
    let r = post(
        t,
        "/agent/login",
        &[("username", username), ("password", password)],
        None,
    )
    .await;
    if r.status() == 303 {
        session_cookie(&r)
    } else {
        None
    }
}
