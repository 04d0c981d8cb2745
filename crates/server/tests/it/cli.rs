//! The `hod` command line as an operator meets it: help, errors, one-shot commands.
use std::process::Output;

use crate::hod;

/// Runs `hod ARGS` in `dir` with extra environment variables.
fn run_in(dir: &tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = hod();
    cmd.args(args).current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A configuration problem: exit code 1 and one line on standard error naming it.
fn assert_one_line_error(o: &Output, expected: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    for e in expected {
        assert!(lines[0].contains(e), "{e:?} not in {err}");
    }
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["demo", "--help"],
        &["migrate", "--help"],
        &["admin", "--help"],
        &["admin", "create", "--help"],
        &["outbox", "--help"],
        &["outbox", "list", "--help"],
        &["import", "--help"],
        &["eligibility", "--help"],
        &["eligibility", "run", "--help"],
        &["eligibility", "show", "--help"],
        &["api-key", "--help"],
        &["api-key", "create", "--help"],
        &["settings", "--help"],
        &["settings", "set", "--help"],
        &["referrals", "--help"],
        &["referrals", "unserved", "--help"],
        &["referrals", "show", "--help"],
        &["audit", "--help"],
        &["audit", "verify", "--help"],
        &["simulate", "--help"],
        &["generate", "--help"],
        &["keys", "--help"],
        &["keys", "rotate", "--help"],
    ] {
        let o = hod().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("Usage: hod"), "{args:?}: {out}");
    }
}

#[test]
fn unparsable_config_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hod.toml"),
        "addr = \"127.0.0.1:9000\"\nlog = [unclosed\n",
    )
    .unwrap();
    let o = run_in(&dir, &["migrate"], &[]);
    assert_one_line_error(&o, &["hod.toml line 2"]);
    assert!(!dir.path().join("hod-data").exists(), "nothing was created");
}

#[test]
fn unknown_config_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hod.toml"), "adr = \"127.0.0.1:9000\"\n").unwrap();
    let o = run_in(&dir, &["migrate"], &[]);
    assert_one_line_error(&o, &["adr", "hod.toml"]);
}

/// SPEC.md §7.1's own example, from the environment: a sending number is text, not the
/// integer it looks like.
#[test]
fn a_sending_number_from_the_environment_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        &dir,
        &["migrate"],
        &[
            ("HOD_SMS_URL", "http://AC1:token@127.0.0.1:9"),
            ("HOD_SMS_FROM", "+15125550100"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn bad_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        &dir,
        &["migrate"],
        &[("HOD_PROGRAM_TIME_ZONE", "Mars/Base")],
    );
    assert_one_line_error(&o, &["program_time_zone", "Mars/Base"]);
    let o = run_in(&dir, &["migrate"], &[("HOD_DATABASE_URL", "mysql://x")]);
    assert_one_line_error(&o, &["mysql://x", "postgres://"]);
    let o = run_in(&dir, &["--config", "missing.toml", "migrate"], &[]);
    assert_one_line_error(&o, &["missing.toml", "does not exist"]);
}

#[test]
fn unreachable_database_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        &dir,
        &[
            "migrate",
            "--database-url",
            "postgres://hod:s3cret@127.0.0.1:1/hod",
        ],
        &[("HOD_DB_CONNECT_TIMEOUT_SECS", "2")],
    );
    assert_one_line_error(&o, &["cannot open database", "127.0.0.1:1"]);
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
}

#[test]
fn port_in_use_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = run_in(&dir, &["serve", "--addr", &addr], &[]);
    assert_one_line_error(&o, &["cannot listen on", &addr, "in use"]);
}

#[test]
fn migrate_creates_the_sqlite_database_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(&dir, &["migrate", "--data-dir", "state"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("state/hod.sqlite").exists());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("is up to date"), "{out}");
    // Again: nothing to do, still fine.
    assert!(
        hod()
            .args(["migrate", "--data-dir", "state"])
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn the_master_key_file_is_made_private_kept_and_checked() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let without_key = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = hod();
        cmd.env_remove("HOD_DATA_KEY")
            .args(args)
            .current_dir(dir.path());
        cmd.envs(env.iter().copied()).output().unwrap()
    };
    let o = without_key(&["migrate"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = dir.path().join("hod-data/data.key");
    let made = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        stderr(&o).contains("keep a copy with the backups"),
        "{}",
        stderr(&o)
    );
    // Kept: the next start opens the same keys with it, and says nothing.
    let o = without_key(&["keys", "rotate", "--settle-secs", "0"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("data key 2 is current") && out.contains("keys dropped: 1"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), made);
    // Another master key does not open this database's keys.
    let other = hod_db::vault::MasterKey::generate().encoded();
    assert_one_line_error(
        &without_key(&["migrate"], &[("HOD_DATA_KEY", &other)]),
        &["data key 2 does not open with this master key"],
    );
    assert_one_line_error(
        &without_key(&["migrate"], &[("HOD_DATA_KEY", "c2hvcnQ=")]),
        &["data_key is 5 bytes long once decoded; a key is 32"],
    );
    // A key file others can read is refused.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_one_line_error(
        &without_key(&["migrate"], &[]),
        &[
            "data key file",
            "can be read by others (mode 644)",
            "chmod 600",
        ],
    );
}

#[test]
fn admin_create_then_outbox_list() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        &dir,
        &[
            "admin",
            "create",
            "--username",
            "ops",
            "--email",
            "ops@example.org",
        ],
        &[("HOD_ADMIN_PASSWORD", "a long enough password")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("created admin ops"));
    let again = run_in(
        &dir,
        &[
            "admin",
            "create",
            "--username",
            "OPS",
            "--email",
            "ops@example.org",
        ],
        &[("HOD_ADMIN_PASSWORD", "a long enough password")],
    );
    assert_one_line_error(&again, &["\"OPS\" is already taken"]);
    let short = run_in(
        &dir,
        &[
            "admin",
            "create",
            "--username",
            "ops2",
            "--email",
            "ops@example.org",
        ],
        &[("HOD_ADMIN_PASSWORD", "short")],
    );
    assert_one_line_error(&short, &["at least 12 characters"]);

    let o = run_in(&dir, &["outbox", "list", "--json"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list, serde_json::json!([]));
}

/// Untrusted text (here an ESC sequence that would clear the screen, a BEL and a
/// right-to-left override, as rows written before the form refused them could hold) is
/// printed with visible escapes, never as raw control characters.
#[test]
fn outbox_list_never_sends_control_characters_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_in(&dir, &["migrate"], &[]).status.success());
    let url = hod_db::DatabaseUrl::sqlite_file(&dir.path().join("hod-data/hod.sqlite"));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = hod_db::Db::connect(&url, &hod_db::ConnectOptions::default())
            .await
            .unwrap();
        hod_test_support::unlock(&db).await;
        let mut tx = db.begin().await.unwrap();
        hod_db::outbox::enqueue(
            &mut tx,
            &hod_db::outbox::NewMessage {
                channel: hod_db::outbox::Channel::Sms,
                sender: "",
                recipient: "+17135550101",
                subject: "",
                body: "Jane\u{1b}[2J\u{7} \u{202e}Doe\u{9b}0m",
                html: None,
                lang: "en",
                fallback_to: None,
                urgent: false,
                subscription_id: None,
                dedup_key: None,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        db.close().await;
    });
    let text = run_in(&dir, &["outbox", "list"], &[]);
    assert!(text.status.success(), "{}", stderr(&text));
    let json = run_in(&dir, &["outbox", "list", "--json"], &[]);
    for (o, escaped) in [
        (&text, "Jane\\u{1b}[2J\\u{7} \\u{202e}Doe\\u{9b}0m"),
        (&json, "Jane\\u001b[2J\\u0007 \\u202eDoe\\u009b0m"),
    ] {
        let out = String::from_utf8(o.stdout.clone()).unwrap();
        assert!(
            !out.chars()
                .any(|c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)),
            "raw control characters reached the terminal: {out:?}"
        );
        assert!(out.contains(escaped), "{out}");
    }
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list[0]["body"], "Jane\u{1b}[2J\u{7} \u{202e}Doe\u{9b}0m");
}

#[test]
fn api_key_is_printed_alone_and_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        &dir,
        &["api-key", "create", "--name", "Find Local Help"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "the key alone: {out:?}");
    assert!(
        lines[0].starts_with("hod_") && lines[0].len() == 68,
        "{out}"
    );
    assert_one_line_error(
        &run_in(&dir, &["api-key", "create", "--name", " "], &[]),
        &["--name"],
    );

    let o = run_in(
        &dir,
        &["settings", "set", "routing.strategy", "broadcast"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("routing.strategy = broadcast") && out.contains("routing.offer_minutes = 15"),
        "{out}"
    );
    assert_one_line_error(
        &run_in(
            &dir,
            &["settings", "set", "routing.offer_minutes", "0"],
            &[],
        ),
        &["routing.offer_minutes: expected a whole number from 1 to 1440, got \"0\""],
    );
    assert_one_line_error(
        &run_in(&dir, &["settings", "set", "routing.speed", "fast"], &[]),
        &["unknown setting \"routing.speed\"", "routing.strategy"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_the_unserved_queue_and_a_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hod.sqlite").display());
    let node = crate::nodes::Node::start(&url, dir.path());
    let db = ["--database-url", url.as_str()];
    let key = run_in(
        &dir,
        &[&db[..], &["api-key", "create", "--name", "Test"]].concat(),
        &[],
    );
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    // Nobody works in Alaska: the request is unserved at once.
    let mut body = crate::world::request("99501", "en", "907-555-0101");
    body["email"] = serde_json::json!(null);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/referrals", node.url))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let o = run_in(
        &dir,
        &[&db[..], &["referrals", "unserved", "--json"]].concat(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let queue: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(queue[0]["id"], id);
    assert_eq!(
        (
            queue[0]["state"].as_str(),
            queue[0]["unserved_reason"].as_str()
        ),
        (Some("AK"), Some("no_agent"))
    );
    let o = run_in(
        &dir,
        &[&db[..], &["referrals", "show", &id.to_string(), "--json"]].concat(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["submitted", "decision", "status"]);
    assert_eq!(shown["timeline"][1]["detail"]["considered"], 0);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        !text.contains("555-0101") && !text.contains("Jane"),
        "no contact details: {text}"
    );
    assert_one_line_error(
        &run_in(
            &dir,
            &[&db[..], &["referrals", "show", "999"]].concat(),
            &[],
        ),
        &["no referral 999"],
    );
    drop(node);
}

#[test]
fn simulate_compares_strategies_and_names_a_bad_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/scenarios/quiet-day.toml"
    );
    let o = run_in(&dir, &["simulate", "--scenario", quiet, "--json"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["one_at_a_time", "cascade", "broadcast", "adaptive"]);
    for key in [
        "accept_p50_seconds",
        "accept_p90_seconds",
        "served_share",
        "served_within_15_minutes",
        "served_within_60_minutes",
        "offers_per_agent",
        "fairness_offers",
    ] {
        assert!(v["strategies"][0][key].is_number(), "{key}: {v}");
    }
    let o = run_in(
        &dir,
        &["simulate", "--scenario", quiet, "--strategy", "adaptive"],
        &[],
    );
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && table.contains("adaptive") && !table.contains("cascade "),
        "{table}"
    );
    std::fs::write(dir.path().join("bad.toml"), "name = \"x\"\nagents = -1\n").unwrap();
    let o = run_in(&dir, &["simulate", "--scenario", "bad.toml"], &[]);
    assert_one_line_error(&o, &["bad.toml", "line 2"]);
}
