//! The access matrix (issue 16): every route the router has — read from its source, so a
//! new route cannot be left out — tried as no one, an agent (page session and app token), a
//! partner (API key), help desk and an administrator, and the answers compared with the
//! table of who may do what in docs/security.md. Then every route on one agent's or one
//! partner's thing, tried by its owner and by another agent or partner, against the table of
//! whose things are whose.
//!
//! ✓: the route did its work or judged the request itself (2xx, a redirect other than to a
//! log-in page, 400/404/409/422…); ✗: refused for who is asking (401, 403, or sent to log in;
//! and, for a thing that exists, 404).
//! After a change of who may do what, print the tables this server answers with, check them,
//! and put them in docs/security.md:
//! `HOD_PRINT_ACCESS_TABLE=1 cargo nextest run -p hod-server access --no-capture`.
use hod_app::auth::PrincipalKind;
use hod_db::Backend;
use hod_test_support::{TestApp, app_tests};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::console::operators;
use crate::passkeys::add_passkey;
use crate::support::{PASSWORD, login};
use crate::world::{TestPartner, request, spec, world};

const ROUTER: &str = include_str!("../../../web/src/lib.rs");
const SECURITY_DOC: &str = include_str!("../../../../docs/security.md");

const WHO: [&str; 5] = ["no one", "agent", "partner", "help desk", "admin"];
const WHO_MAY_DO_WHAT: &str = "Who may do what";

/// Every (method, path) the router's source names with `.route(…)`.
fn routes() -> Vec<(String, String)> {
    let method = regex::Regex::new(r"(?:^|[^:\w])(get|post|put|delete|patch)\(").unwrap();
    let mut out = Vec::new();
    for (at, _) in ROUTER.match_indices(".route(") {
        let rest = &ROUTER[at + ".route(".len()..];
        let open = rest.find('"').expect("a route's path");
        let close = open + 1 + rest[open + 1..].find('"').expect("its end");
        let path = &rest[open + 1..close];
        // The call's arguments: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .expect("the call ends")
            .0;
        for m in method.captures_iter(&rest[close..end]) {
            out.push((m[1].to_uppercase(), path.to_owned()));
        }
    }
    assert!(out.len() > 100, "the router's routes: {out:?}");
    out
}

/// A table of docs/security.md: the rows under the heading `section`, route → answers.
fn documented(section: &str) -> Vec<(String, Vec<String>)> {
    let start = SECURITY_DOC
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("docs/security.md has a section \"{section}\""));
    let body = &SECURITY_DOC[start + section.len() + 5..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let (route, rest) = l.split_once("` |")?;
            let cells: Vec<String> = rest
                .split('|')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            Some((route.to_owned(), cells))
        })
        .collect()
}

/// Compares what the server answered with a documented table; the differences.
fn differences(
    observed: &[(String, Vec<String>)],
    documented: &[(String, Vec<String>)],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (route, row) in observed {
        match documented.iter().find(|(r, _)| r == route) {
            None => problems.push(format!("{route}: not in the table")),
            Some((_, cells)) if cells != row => problems.push(format!(
                "{route}: the table says {}, the server answers {}",
                cells.join(" "),
                row.join(" ")
            )),
            Some(_) => {}
        }
    }
    for (route, _) in documented {
        if !observed.iter().any(|(r, _)| r == route) {
            problems.push(format!("{route}: in the table, not tried"));
        }
    }
    problems
}

/// Prints a table as docs/security.md holds it, when asked (see the module's comment).
fn print_table(columns: &[&str], rows: &[(String, Vec<String>)]) {
    if std::env::var_os("HOD_PRINT_ACCESS_TABLE").is_none() {
        return;
    }
    println!("| route | {} |", columns.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    let mut sorted = rows.to_vec();
    sorted.sort();
    for (route, row) in &sorted {
        println!("| `{route}` | {} |", row.join(" | "));
    }
}

fn concrete(path: &str) -> String {
    path.replace("{code}", "es")
        .replace("{file}", "no-such-file.css")
        .replace("{token}", "no-such-token")
        .replace("{npn}", "9999999999")
        .replace("{id}", "999999")
}

/// How a principal asks: a page session's cookie, a bearer token.
struct Principal {
    cookie: Option<String>,
    bearer: Option<String>,
}

impl Principal {
    fn new(cookie: Option<&str>, bearer: Option<&str>) -> Self {
        Self {
            cookie: cookie.map(str::to_owned),
            bearer: bearer.map(str::to_owned),
        }
    }
}

/// What a route answered: its status, and whether it sent the asker to a log-in page.
struct Reply {
    status: u16,
    to_login: bool,
}

impl Reply {
    /// Refused for who is asking.
    fn refused(&self) -> bool {
        self.status == 401 || self.status == 403 || self.to_login
    }
}

/// `method` on `path` (a route with its placeholders filled) as `p`, with `body` (JSON for
/// the API, a form for pages) unless it is a GET.
async fn ask(t: &TestApp, p: &Principal, method: &str, path: &str, body: &str) -> Reply {
    let mut req = t.client.request(method.parse().unwrap(), t.url(path));
    if method != "GET" {
        let kind = if path.starts_with("/api/") {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        req = req
            .header("origin", t.url(""))
            .header("content-type", kind)
            .body(body.to_owned());
    }
    if let Some(c) = &p.cookie {
        req = req.header("cookie", c);
    }
    if let Some(b) = &p.bearer {
        req = req.bearer_auth(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    assert!(status < 500, "{method} {path}: {status}");
    let to_login = r.status().is_redirection()
        && r.headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.starts_with("/agent/login") || l.starts_with("/admin/login"));
    Reply { status, to_login }
}

/// The route's answer to `p` with ids that do not exist: ✓ or ✗ as the module says.
async fn answer(t: &TestApp, p: &Principal, method: &str, route: &str) -> &'static str {
    let empty = if route.starts_with("/api/") { "{}" } else { "" };
    let reply = ask(t, p, method, &concrete(route), empty).await;
    // Log-in and log-out are open to everyone: they judge the credentials given (the empty
    // ones sent here get 401, or the log-in page again).
    let open_by_design =
        route.ends_with("/login") || route.ends_with("/logout") || route == "/api/v1/agent/token";
    let refused = if open_by_design {
        reply.status == 403
    } else {
        reply.refused()
    };
    if refused { "✗" } else { "✓" }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_the_security_table_says() {
    let t = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let agents = world(&t, &[spec("3180011", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let (admin, desk) = operators(&t).await;
    let agent_cookie = login(&t, "ana.agent", PASSWORD)
        .await
        .expect("the agent logs in");
    let principals = [
        Principal::new(None, None),
        Principal::new(Some(&agent_cookie), Some(&agents[0].token)),
        Principal::new(None, Some(&partner.key)),
        Principal::new(Some(&desk), None),
        Principal::new(Some(&admin), None),
    ];
    let mut routes = routes();
    // Ending sessions last: every other route is tried with them still open.
    routes.sort_by_key(|(_, path)| match path {
        p if p.ends_with("/sessions") => 1,
        p if p.ends_with("/logout") => 2,
        _ => 0,
    });
    let mut observed = Vec::new();
    for (method, path) in &routes {
        let mut row = Vec::new();
        for p in &principals {
            row.push(answer(&t, p, method, path).await.to_owned());
        }
        observed.push((format!("{method} {path}"), row));
    }
    let _ = t.take_outbox().await;
    print_table(&WHO, &observed);
    let problems = differences(&observed, &documented(WHO_MAY_DO_WHAT));
    assert!(
        problems.is_empty(),
        "docs/security.md ({}):\n{}",
        WHO.join(", "),
        problems.join("\n")
    );
}

const WHOSE: [&str; 2] = ["owner", "another"];
const WHOSE_THINGS: &str = "Whose things";

app_tests!(each_agent_and_partner_reaches_only_their_own_things);

/// Every route that acts on one agent's or one partner's thing by its id — the routes of the
/// table above open to an agent or a partner and closed to no one, with an `{id}` — tried with
/// a thing that exists: by its owner (Ana, or the partner who sent the request), who must
/// reach it, and by another agent (Bea) or partner, who must get 404 and change nothing.
async fn each_agent_and_partner_reaches_only_their_own_things(t: TestApp) {
    let agents = world(
        &t,
        &[
            spec("3180011", "Ana", "77002"),
            spec("3180012", "Bea", "77002"),
        ],
    )
    .await;
    let (ana, bea) = (&agents[0], &agents[1]);
    bea.set_availability("unavailable").await.expect(200);
    let (partner, other_partner) = (TestPartner::new(&t).await, TestPartner::new(&t).await);
    // Ana's things: a referral she accepted, an offer still open to her, a passkey.
    let referral = partner.submit(request("77002", "en", "713-555-0142")).await;
    let offer = ana.offers().await[0].id;
    ana.accept(offer).await.expect(200);
    partner.submit(request("77002", "en", "713-555-0143")).await;
    let open_offer = ana.offers().await[0].id;
    let ana_cookie = login(&t, "ana.agent", PASSWORD).await.unwrap();
    let bea_cookie = login(&t, "bea.agent", PASSWORD).await.unwrap();
    let mut key = SoftPasskey::new(true);
    add_passkey(&t, "/agent/passkeys", &mut key, &ana_cookie, "Phone").await;
    let passkeys = || hod_db::passkeys::of(t.app.storage(), PrincipalKind::Agent, ana.id);
    let passkey = passkeys().await.unwrap()[0].id;
    let before = ana.referral(referral).await.expect(200);

    let (owner_agent, other_agent) = (
        Principal::new(Some(&ana_cookie), Some(&ana.token)),
        Principal::new(Some(&bea_cookie), Some(&bea.token)),
    );
    let (owner_partner, stranger) = (
        Principal::new(None, Some(&partner.key)),
        Principal::new(None, Some(&other_partner.key)),
    );

    let main_table = documented(WHO_MAY_DO_WHAT);
    let scoped: Vec<(String, String)> = routes()
        .into_iter()
        .filter(|(method, path)| {
            let row = &main_table
                .iter()
                .find(|(r, _)| *r == format!("{method} {path}"))
                .unwrap_or_else(|| panic!("{method} {path} is in the table above"))
                .1;
            path.contains("{id}") && row[0] == "✗" && (row[1] == "✓" || row[2] == "✓")
        })
        .collect();
    let filled = |path: &str| {
        let kind = path
            .split("/{id}")
            .next()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let id = match kind {
            "offers" => open_offer,
            "referrals" => referral,
            "passkeys" => passkey,
            _ => panic!("{path}: give this test one of an agent's or a partner's {kind}"),
        };
        path.replace("{id}", &id.to_string())
    };
    let by_partner = |path: &str| path.starts_with("/api/v1/referrals");
    // What the owner would send, so that another is refused for who they are, not for the body.
    let body = |path: &str| match (path.starts_with("/api/"), path.rsplit('/').next()) {
        (true, Some("decline")) => r#"{"reason": "Out of the office"}"#,
        (true, Some("status")) => r#"{"status": "follow_up_completed", "note": "Called"}"#,
        (true, _) => "{}",
        (false, Some("decline")) => "reason=Out+of+the+office",
        (false, Some("status")) => "status=follow_up_completed&note=Called",
        (false, _) => "",
    };
    let mark = |reply: Reply| {
        if reply.refused() || reply.status == 404 {
            "✗"
        } else {
            "✓"
        }
    };

    // The others first, then a check that they changed nothing, then the owners.
    let mut others = Vec::new();
    for (method, path) in &scoped {
        let who = if by_partner(path) {
            &stranger
        } else {
            &other_agent
        };
        others.push(mark(ask(&t, who, method, &filled(path), body(path)).await));
    }
    assert_eq!(ana.referral(referral).await.expect(200), before);
    assert!(ana.offers().await.iter().any(|o| o.id == open_offer));
    assert_eq!(passkeys().await.unwrap().len(), 1);
    let mut observed = Vec::new();
    for ((method, path), other) in scoped.iter().zip(others) {
        let who = if by_partner(path) {
            &owner_partner
        } else {
            &owner_agent
        };
        let owner = mark(ask(&t, who, method, &filled(path), body(path)).await);
        observed.push((
            format!("{method} {path}"),
            vec![owner.to_owned(), other.to_owned()],
        ));
    }
    let _ = t.take_outbox().await;
    print_table(&WHOSE, &observed);
    let problems = differences(&observed, &documented(WHOSE_THINGS));
    assert!(
        problems.is_empty(),
        "docs/security.md:\n{}",
        problems.join("\n")
    );
}
