//! The published API document checked against real answers: every JSON answer the tests
//! receive through `api()` must be documented for its operation and status, and match the
//! schema written there. Covers the JSON Schema keywords `openapi.json` uses.
use std::sync::OnceLock;

use serde_json::Value;

fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("../../../web/api/openapi.json")).expect("openapi.json")
    })
}

/// The documented path (`/referrals/{id}`) a concrete `/api/v1/…` path belongs to.
fn template(path: &str) -> Option<&'static str> {
    let path = path.split('?').next()?.strip_prefix("/api/v1")?;
    let parts: Vec<&str> = path.split('/').collect();
    doc()["paths"].as_object()?.keys().find_map(|t| {
        let want: Vec<&str> = t.split('/').collect();
        (want.len() == parts.len()
            && want
                .iter()
                .zip(&parts)
                .all(|(w, p)| w == p || (w.starts_with('{') && !p.is_empty())))
        .then_some(t.as_str())
    })
}

/// Checks one answer against the document; panics with every mismatch found.
pub(crate) fn check_answer(method: &str, path: &str, status: u16, body: &Value) {
    let Some(t) = template(path) else {
        return; // Not an API route (pages, the document itself).
    };
    let op = &doc()["paths"][t][method.to_lowercase()];
    assert!(op.is_object(), "{method} {t} is not documented");
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {t} answered {status}, which openapi.json does not list: {body}"
    );
    let Some(schema) = response["content"]["application/json"].get("schema") else {
        return;
    };
    let mut problems = Vec::new();
    validate(schema, body, "$", &mut problems);
    assert!(
        problems.is_empty(),
        "{method} {t} {status}: the answer does not match openapi.json:\n  {}\n{body:#}",
        problems.join("\n  ")
    );
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local references only");
            resolve(
                doc()
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{r} is not in the document")),
            )
        }
        None => schema,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn matches(schema: &Value, v: &Value) -> bool {
    let mut problems = Vec::new();
    validate(schema, v, "", &mut problems);
    problems.is_empty()
}

fn validate(schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(schema);
    let Some(s) = schema.as_object() else { return };
    if let Some(t) = s.get("type") {
        let allowed: Vec<&str> = match t {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = type_name(v);
        let ok = allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !ok {
            out.push(format!("{at}: {actual}, expected {}", allowed.join(" or ")));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        out.push(format!(
            "{at}: {v} is not one of {}",
            Value::Array(e.clone())
        ));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        out.push(format!("{at}: {v}, expected {c}"));
    }
    if let Value::String(text) = v {
        let chars = text.chars().count() as u64;
        if s.get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|n| chars < n)
        {
            out.push(format!("{at}: shorter than minLength"));
        }
        if s.get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|n| chars > n)
        {
            out.push(format!("{at}: longer than maxLength"));
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str)
            && !regex::Regex::new(p).expect("pattern").is_match(text)
        {
            out.push(format!("{at}: {text:?} does not match {p}"));
        }
        if s.get("format").and_then(Value::as_str) == Some("date-time")
            && text.parse::<jiff::Timestamp>().is_err()
        {
            out.push(format!("{at}: {text:?} is not a date-time"));
        }
    }
    if let Value::Array(items) = v {
        if s.get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|n| (items.len() as u64) < n)
        {
            out.push(format!("{at}: fewer than minItems"));
        }
        if let Some(item) = s.get("items") {
            for (i, x) in items.iter().enumerate() {
                validate(item, x, &format!("{at}[{i}]"), out);
            }
        }
    }
    if let Value::Object(fields) = v {
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default();
            if !fields.contains_key(name) {
                out.push(format!("{at}: no {name:?}, which is required"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (name, x) in fields {
            match props.and_then(|p| p.get(name)) {
                Some(p) => validate(p, x, &format!("{at}.{name}"), out),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        out.push(format!("{at}: {name:?} is not documented"));
                    }
                    Some(extra @ Value::Object(_)) => {
                        validate(extra, x, &format!("{at}.{name}"), out);
                    }
                    _ => {}
                },
            }
        }
    }
    for part in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(part, v, at, out);
    }
    if let (Some(cond), Some(then)) = (s.get("if"), s.get("then"))
        && matches(cond, v)
    {
        validate(then, v, at, out);
    }
    if let Some(not) = s.get("not")
        && matches(not, v)
    {
        out.push(format!("{at}: matches what `not` excludes"));
    }
}

#[test]
fn the_checker_finds_what_it_should() {
    let offer = serde_json::json!({
        "id": 1, "referral_id": 2, "city": "Houston", "zip": "77002", "state": "TX",
        "language": "es", "reason": "new_coverage", "expires_at": "2026-12-02T10:00:00Z",
    });
    let list = Value::Array(vec![offer.clone()]);
    check_answer("GET", "/api/v1/agent/offers", 200, &list);
    let mut bad = offer;
    bad["expires_at"] = Value::String("soon".into());
    bad.as_object_mut().unwrap().remove("city");
    let caught = std::panic::catch_unwind(|| {
        check_answer("GET", "/api/v1/agent/offers", 200, &Value::Array(vec![bad]));
    });
    let message = caught
        .expect_err("a wrong answer is caught")
        .downcast::<String>()
        .unwrap();
    assert!(
        message.contains("not a date-time") && message.contains("\"city\""),
        "{message}"
    );
    let undocumented =
        std::panic::catch_unwind(|| check_answer("GET", "/api/v1/agent/offers", 418, &list));
    assert!(undocumented.is_err(), "an undocumented status is caught");
}

#[test]
fn the_documented_statuses_are_the_domains() {
    let documented = &doc()["components"]["schemas"]["Status"]["enum"];
    let domain: Vec<&str> = hod_domain::referral::Status::ALL
        .iter()
        .map(|s| s.id())
        .collect();
    assert_eq!(documented, &serde_json::json!(domain));
}
