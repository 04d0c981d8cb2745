//! The test world: agents imported, registered and logged in over HTTP, and the actors
//! that use the API — a test agent (the agent app) and a test partner (a partner system) —
//! so tests speak of offers and referrals, not of status codes and JSON paths.
use hod_app::import::{ImportKind, ImportOptions, Source};
use hod_domain::actor::Actor;
use hod_domain::referral::EventKind;
use hod_test_support::TestApp;
use serde_json::{Value, json};

use crate::support::{PASSWORD, invitation_token};

/// The last decision log of a referral.
pub(crate) async fn decision(t: &TestApp, rid: i64) -> Value {
    let events = t.app.referral_timeline(rid).await.unwrap();
    let last = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Decision)
        .expect("a decision was logged");
    last.detail.clone()
}

/// Who a decision log ranked, best first.
pub(crate) fn ranked_ids(log: &Value) -> Vec<i64> {
    ids(&log["ranked"])
}

/// Whom a decision log names as left out for `reason`.
pub(crate) fn filtered_ids(log: &Value, reason: &str) -> Vec<i64> {
    ids(&log["filtered"][reason]["agents"])
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .map(|a| a.iter().map(|x| x["id"].as_i64().unwrap()).collect())
        .unwrap_or_default()
}

/// An agent of the test world: licensed for health in `states`, living in `zip`.
#[derive(Clone, Copy)]
pub(crate) struct Spec {
    pub npn: &'static str,
    pub first: &'static str,
    pub zip: &'static str,
    pub states: &'static [&'static str],
}

pub(crate) const fn spec(npn: &'static str, first: &'static str, zip: &'static str) -> Spec {
    Spec {
        npn,
        first,
        zip,
        states: &["TX"],
    }
}

/// A registered agent using the agent app (its bearer token), on one node.
#[derive(Debug, Clone)]
pub(crate) struct TestAgent {
    pub id: i64,
    pub token: String,
    site: Endpoint,
}

/// A partner system with an API key, on one node.
#[derive(Debug, Clone)]
pub(crate) struct TestPartner {
    pub key: String,
    site: Endpoint,
}

/// Where an actor's requests go.
#[derive(Debug, Clone)]
struct Endpoint {
    base: String,
    client: reqwest::Client,
}

impl Endpoint {
    fn of(t: &TestApp) -> Self {
        Self {
            base: t.url(""),
            client: t.client.clone(),
        }
    }

    async fn call(&self, method: &str, path: &str, bearer: &str, body: Option<Value>) -> Answer {
        let site = Site {
            app: None,
            base: self.base.clone(),
            client: self.client.clone(),
        };
        let (status, body) = api_at(&site, method, path, Some(bearer), body).await;
        Answer { status, body }
    }
}

/// An API answer: its status and JSON body (already checked against openapi.json).
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The body of a successful answer (`status`), or the test fails showing the answer.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }

    /// The error code of a refusal (`status`).
    #[track_caller]
    pub fn refused(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// An offer as the agent app lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct Offer {
    pub id: i64,
    pub referral_id: i64,
    pub city: String,
    pub zip: String,
    pub state: String,
    pub language: String,
    pub reason: String,
    pub expires_at: String,
}

impl TestAgent {
    /// The offers open to this agent now.
    pub async fn offers(&self) -> Vec<Offer> {
        let v = self
            .site
            .call("GET", "/api/v1/agent/offers", &self.token, None)
            .await
            .expect(200);
        serde_json::from_value(v).expect("offers")
    }

    pub async fn accept(&self, offer: i64) -> Answer {
        let path = format!("/api/v1/agent/offers/{offer}/accept");
        self.site.call("POST", &path, &self.token, None).await
    }

    pub async fn decline(&self, offer: i64, reason: &str) -> Answer {
        let path = format!("/api/v1/agent/offers/{offer}/decline");
        let body = json!({ "reason": reason });
        self.site.call("POST", &path, &self.token, Some(body)).await
    }

    /// One of the agent's referrals, with the consumer's contact details.
    pub async fn referral(&self, id: i64) -> Answer {
        let path = format!("/api/v1/agent/referrals/{id}");
        self.site.call("GET", &path, &self.token, None).await
    }

    /// Changes the profile (`PUT /api/v1/agent/profile`): the fields given.
    pub async fn update_profile(&self, fields: Value) -> Answer {
        self.site
            .call("PUT", "/api/v1/agent/profile", &self.token, Some(fields))
            .await
    }

    /// Sets the override switch (`PUT /api/v1/agent/availability`).
    pub async fn set_availability(&self, mode: &str) -> Answer {
        self.site
            .call(
                "PUT",
                "/api/v1/agent/availability",
                &self.token,
                Some(serde_json::json!({ "mode": mode })),
            )
            .await
    }

    /// Subscribes a browser (its `PushSubscription` JSON) to this agent's pushes.
    pub async fn subscribe_push(&self, subscription: Value) -> Answer {
        let path = "/api/v1/agent/push-subscriptions";
        self.site
            .call("POST", path, &self.token, Some(subscription))
            .await
    }

    pub async fn record(&self, id: i64, status: &str, note: &str, account: &str) -> Answer {
        let path = format!("/api/v1/agent/referrals/{id}/status");
        let body = json!({ "status": status, "note": note, "account_number": account });
        self.site.call("POST", &path, &self.token, Some(body)).await
    }
}

impl TestPartner {
    /// A partner with a fresh key.
    pub async fn new(t: &TestApp) -> Self {
        let key = t
            .app
            .create_api_key("Find Local Help", Actor::Cli)
            .await
            .unwrap();
        Self {
            key,
            site: Endpoint::of(t),
        }
    }

    pub async fn try_submit(&self, body: Value) -> Answer {
        self.site
            .call("POST", "/api/v1/referrals", &self.key, Some(body))
            .await
    }

    /// Submits a request that must be taken; returns the referral id.
    pub async fn submit(&self, body: Value) -> i64 {
        self.try_submit(body).await.expect(201)["id"]
            .as_i64()
            .unwrap()
    }

    /// The request as the partner sees it.
    pub async fn status(&self, id: i64) -> Value {
        let path = format!("/api/v1/referrals/{id}");
        self.site
            .call("GET", &path, &self.key, None)
            .await
            .expect(200)
    }
}

pub(crate) async fn import_text(app: &hod_app::App, kind: ImportKind, name: &str, text: String) {
    let source = Source {
        name: name.into(),
        reader: Box::new(std::io::Cursor::new(text.into_bytes())),
    };
    let opts = ImportOptions {
        actor: Actor::Cli,
        ..ImportOptions::default()
    };
    let report = app.import(kind, source, opts).await.unwrap();
    assert!(report.rejected.is_empty(), "{name}: {:?}", report.rejected);
}

/// Where the world is built: the application (for imports) and a server speaking HTTP.
pub(crate) struct Site<'a> {
    pub app: Option<&'a hod_app::App>,
    pub base: String,
    pub client: reqwest::Client,
}

/// Imports, registers, logs in (app token) and accepts the terms for every agent of `specs`,
/// all over HTTP except the CMS files.
pub(crate) async fn world_on(site: &Site<'_>, specs: &[Spec]) -> Vec<TestAgent> {
    let app = site
        .app
        .expect("the world is built through the application");
    let mut mlms =
        String::from("NPN,First Name,Last Name,Email,Plan Year,HOD Course Completion Date\n");
    let mut rcl = String::from(
        "NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,SHOP Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\n",
    );
    let mut nipr = String::from(
        "NPN,State,License Number,License Class,Residency,Active,Expiration Date,LOA,LOA Code,LOA Status,LOA Status Date\n",
    );
    for s in specs {
        mlms += &format!(
            "{},{},Tester,{}@agency.test,2027,10/01/2026\n",
            s.npn,
            s.first,
            s.first.to_lowercase()
        );
        rcl += &format!("{},2027,09/02/2026,10/31/2027,,,Y\n", s.npn);
        for st in s.states {
            nipr += &format!(
                "{},{st},{st}-{},Insurance Producer,Resident,Yes,,Health,14,Active,\n",
                s.npn, s.npn
            );
        }
    }
    import_text(app, ImportKind::Mlms, "mlms.csv", mlms).await;
    import_text(app, ImportKind::Rcl, "rcl.csv", rcl).await;
    import_text(app, ImportKind::Nipr, "nipr.csv", nipr).await;
    let mail = hod_db::outbox::list(app.storage(), None, None)
        .await
        .unwrap();
    let mut agents = Vec::new();
    for s in specs {
        let email = format!("{}@agency.test", s.first.to_lowercase());
        let username = format!("{}.agent", s.first.to_lowercase());
        let form = json!({"token": invitation_token(&mail, &email), "phone": "713-555-0101", "contact_method": "email_only",
            "zip": s.zip, "username": username, "password": PASSWORD, "confirm_password": PASSWORD, "accept_terms": true});
        let (code, v) = api_at(site, "POST", "/api/v1/registrations", None, Some(form)).await;
        assert_eq!(code, 201, "{v}");
        let token = api_at(
            site,
            "POST",
            "/api/v1/agent/token",
            None,
            Some(json!({"username": username, "password": PASSWORD})),
        )
        .await;
        assert_eq!(token.0, 200, "{:?}", token.1);
        let token = token.1["token"].as_str().unwrap().to_owned();
        let accepted = api_at(
            site,
            "POST",
            "/api/v1/agent/terms/accept",
            Some(&token),
            Some(json!({"versions": ["agent_broker:1", "hod:1"]})),
        )
        .await;
        assert_eq!(accepted.0, 200, "{:?}", accepted.1);
        assert_eq!(accepted.1["complete"], true);
        let id =
            hod_db::agents::find_by_npn(app.storage(), &hod_domain::Npn::parse(s.npn).unwrap())
                .await
                .unwrap()
                .unwrap()
                .id;
        agents.push(TestAgent {
            id,
            token,
            site: Endpoint {
                base: site.base.clone(),
                client: site.client.clone(),
            },
        });
    }
    agents
}

pub(crate) async fn world(t: &TestApp, specs: &[Spec]) -> Vec<TestAgent> {
    let site = Site {
        app: Some(&t.app),
        base: t.url(""),
        client: t.client.clone(),
    };
    let agents = world_on(&site, specs).await;
    // Each agent's invitation and "your account is ready".
    let emails: Vec<String> = specs
        .iter()
        .map(|s| format!("{}@agency.test", s.first.to_lowercase()))
        .collect();
    let expected: Vec<(&str, &str)> = emails
        .iter()
        .flat_map(|e| [("email", e.as_str()), ("email", e.as_str())])
        .collect();
    t.expect_outbox(&expected).await;
    agents
}

/// A JSON request; (status, body).
pub(crate) async fn api_at(
    site: &Site<'_>,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = site
        .client
        .request(method.parse().unwrap(), format!("{}{path}", site.base));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    crate::openapi::check_answer(method, path, status, &body);
    (status, body)
}

pub(crate) async fn api(
    t: &TestApp,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let site = Site {
        app: None,
        base: t.url(""),
        client: t.client.clone(),
    };
    api_at(&site, method, path, bearer, body).await
}

pub(crate) fn request(zip: &str, language: &str, phone: &str) -> Value {
    json!({
        "zip": zip, "language": language, "first_name": "Jane", "last_name": "Doe", "phone": phone,
        "email": "jane.doe@example.com", "contact_by": "text", "best_time": "after 5 pm",
        "reason": "new_coverage",
        "consent": {"accepted": true, "text_version": hod_app::referrals::CONSENT_VERSION},
    })
}

pub(crate) async fn set(t: &TestApp, key: &str, value: &str) {
    t.app
        .set_program_setting(key, value, Actor::Cli)
        .await
        .unwrap();
}
