//! Agent accounts (issue 4) over HTTP, on SQLite and PostgreSQL.
use hod_test_support::{TestApp, app_tests};
use serde_json::{Value, json};

app_tests!(
    password_policy_check_reports_rule_ids,
    api_bodies_that_are_not_json_get_the_error_shape
);

async fn check(t: &TestApp, body: Value) -> Value {
    let r = t
        .client
        .post(t.url("/api/v1/password-policy/check"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn password_policy_check_reports_rule_ids(t: TestApp) {
    assert_eq!(
        check(&t, json!({"password": "Blue-Harbor-47"})).await,
        json!({"valid": true, "failed": []})
    );
    assert_eq!(
        check(&t, json!({"password": "abcd aaaa"})).await,
        json!({"valid": false, "failed": ["no_spaces", "number", "upper", "special", "max_repeat", "max_sequence"]})
    );
    assert_eq!(
        check(&t, json!({"password": "Password1!"})).await,
        json!({"valid": false, "failed": ["not_common"]})
    );
    assert_eq!(
        check(
            &t,
            json!({"password": "Rosa-Harbor-47", "first_name": "Rosa"})
        )
        .await,
        json!({"valid": false, "failed": ["not_common"]})
    );
}

async fn api_bodies_that_are_not_json_get_the_error_shape(t: TestApp) {
    let r = t
        .client
        .post(t.url("/api/v1/password-policy/check"))
        .header("content-type", "application/json")
        .body("{\"password\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    let r = t
        .client
        .post(t.url("/api/v1/password-policy/check"))
        .body("password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}
