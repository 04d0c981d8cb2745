//! The access matrix (issue 16): every route the router has — read from its source, so a
//! new route cannot be left out — tried as no one, an agent (page session and app token), a
//! partner (API key), help desk and an administrator, and the answers compared with the
//! table of who may do what in docs/security.md.
//!
//! ✓: the route did its work or judged the request itself (2xx, a redirect other than to a
//! log-in page, 400/404/409/422…); ✗: refused for who is asking (401, 403, or sent to log in).
//! After a change of who may do what, print the table this server answers with, check it,
//! and put it in docs/security.md:
//! `HOD_PRINT_ACCESS_TABLE=1 cargo nextest run -p hod-server access --no-capture`.
use hod_db::Backend;
use hod_test_support::TestApp;

use crate::console::operators;
use crate::support::{PASSWORD, login};
use crate::world::{TestPartner, spec, world};

const ROUTER: &str = include_str!("../../../web/src/lib.rs");
const SECURITY_DOC: &str = include_str!("../../../../docs/security.md");

const WHO: [&str; 5] = ["no one", "agent", "partner", "help desk", "admin"];

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

/// The table in docs/security.md: route → the five answers.
fn documented() -> Vec<(String, Vec<String>)> {
    SECURITY_DOC
        .lines()
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

async fn answer(t: &TestApp, p: &Principal, method: &str, path: &str) -> &'static str {
    let url = t.url(&concrete(path));
    let mut req = t.client.request(method.parse().unwrap(), url);
    if method != "GET" {
        req = req.header("origin", t.url(""));
        req = if path.starts_with("/api/") {
            req.header("content-type", "application/json").body("{}")
        } else {
            req.header("content-type", "application/x-www-form-urlencoded")
                .body("")
        };
    }
    if let Some(c) = &p.cookie {
        req = req.header("cookie", c);
    }
    if let Some(b) = &p.bearer {
        req = req.bearer_auth(b);
    }
    let r = req.send().await.unwrap();
    let to_login = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("/agent/login") || l.starts_with("/admin/login"));
    let status = r.status().as_u16();
    assert!(status < 500, "{method} {path}: {status}");
    // Log-in and log-out are open to everyone: they judge the credentials given (the empty
    // ones sent here get 401, or the log-in page again).
    let open_by_design =
        path.ends_with("/login") || path.ends_with("/logout") || path == "/api/v1/agent/token";
    if open_by_design {
        return if status == 403 { "✗" } else { "✓" };
    }
    if status == 401 || status == 403 || (r.status().is_redirection() && to_login) {
        "✗"
    } else {
        "✓"
    }
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
        Principal {
            cookie: None,
            bearer: None,
        },
        Principal {
            cookie: Some(agent_cookie),
            bearer: Some(agents[0].token.clone()),
        },
        Principal {
            cookie: None,
            bearer: Some(partner.key.clone()),
        },
        Principal {
            cookie: Some(desk),
            bearer: None,
        },
        Principal {
            cookie: Some(admin),
            bearer: None,
        },
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
    if std::env::var_os("HOD_PRINT_ACCESS_TABLE").is_some() {
        println!("| route | {} |", WHO.join(" | "));
        println!("|---|---|---|---|---|---|");
        let mut sorted = observed.clone();
        sorted.sort();
        for (route, row) in &sorted {
            println!("| `{route}` | {} |", row.join(" | "));
        }
    }
    let documented = documented();
    let mut problems = Vec::new();
    for (route, row) in &observed {
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
    for (route, _) in &documented {
        if !observed.iter().any(|(r, _)| r == route) {
            problems.push(format!("{route}: in the table, not in the router"));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/security.md ({}):\n{}",
        WHO.join(", "),
        problems.join("\n")
    );
}
