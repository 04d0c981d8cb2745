//! From a decision to the provider (DESIGN.md §8: p99 ≤ 1 s): a real `hod demo` node with its
//! SMTP server and Twilio-format SMS API on loopback (the test stand-ins), under referral
//! intake through the partner API; every message it writes in a deciding transaction (offers
//! to agents, confirmations and fallbacks to consumers) is timed from its outbox row's
//! creation to the moment the provider took it. Beside it, the ceiling measured in the same
//! run: one message handed straight to each stand-in by the same client code.
//!
//! `cargo bench -p hod-server --bench delivery` (`CLIENTS`, `SECONDS` in the environment).
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hod_db::outbox::{self, Channel, DeliveryStatus};
use hod_notify::{Email, Sms, SmsUrl, Smtp, SmtpUrl, Text};
use hod_test_support::smtp::SmtpServer;
use hod_test_support::twilio::SmsApi;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{label:<44} n={:>6}  p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        ms.len(),
        percentile(&ms, 50.0),
        percentile(&ms, 90.0),
        percentile(&ms, 99.0),
        ms.last().copied().unwrap_or(f64::NAN)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let clients = env_or("CLIENTS", 8);
    let seconds = env_or("SECONDS", 10);
    let smtp = SmtpServer::start().await;
    let sms = SmsApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("hod.sqlite").display());
    let data_key = hod_db::vault::MasterKey::generate().encoded();
    let env = [
        ("HOD_DATABASE_URL", database_url.clone()),
        ("HOD_DATA_KEY", data_key.clone()),
        ("HOD_SMTP_URL", smtp.url()),
        ("HOD_SMS_URL", sms.url()),
        ("HOD_SMS_FROM", "+15125550100".to_owned()),
        ("HOD_LOG", "warn".to_owned()),
    ];
    let hod = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hod"));
        c.args(args).current_dir(dir.path());
        for (k, v) in &env {
            c.env(k, v);
        }
        c
    };
    let mut node = hod(&["demo", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("hod demo printed its address").unwrap();
        if let Some(url) = line.strip_prefix("hod listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let key = String::from_utf8(
        hod(&["api-key", "create", "--name", "delivery bench"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();

    // The ceiling: the same client code handing one message at a time to each stand-in.
    let (mut mail_alone, mut text_alone) = (Vec::new(), Vec::new());
    let smtp_client = Smtp::new(SmtpUrl::parse(&smtp.url()).unwrap()).unwrap();
    let sms_client = Sms::new(SmsUrl::parse(&sms.url()).unwrap(), "+15125550100").unwrap();
    for i in 0..200 {
        let started = Instant::now();
        let email = Email {
            id: 1_000_000 + i,
            from: "noreply@hod.test",
            to: "ceiling@agency.test",
            subject: "Ceiling",
            text: "Hello.",
            html: "<p>Hello.</p>",
            unsubscribe: None,
            urgent: false,
        };
        smtp_client.send(&email).await.unwrap();
        mail_alone.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let text = Text {
            to: "+17135550100",
            body: "Hello.",
            status_callback: &format!("{base}/webhooks/sms/status"),
        };
        sms_client.send(&text).await.unwrap();
        text_alone.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    // Load: consumers asking for help across the demo program's ZIPs, for `seconds`.
    let zips = ["77002", "33130", "75201", "48371", "85004", "28202"];
    let client = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(seconds as u64);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < until {
                let phone = format!("(713) {:03}-{:04}", 200 + c, n % 10_000);
                let body = serde_json::json!({
                    "zip": zips[n % zips.len()], "language": "en", "first_name": "Load",
                    "last_name": format!("Test{c}x{n}"), "phone": phone,
                    "email": format!("load{c}x{n}@example.com"),
                    "contact_by": if n.is_multiple_of(2) { "text" } else { "call" },
                    "reason": "new_coverage",
                    "consent": {"accepted": true, "text_version": hod_app::referrals::CONSENT_VERSION},
                });
                let r = client
                    .post(format!("{base}/api/v1/referrals"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success() || r.status() == 409, "{}", r.status());
                n += 1;
            }
            n
        }));
    }
    let mut submitted = 0;
    for t in tasks {
        submitted += t.await.unwrap();
    }

    // Everything written is delivered (give the node up to 30 s to finish).
    let db = hod_db::Db::connect(
        &hod_db::DatabaseUrl::new(database_url.clone()),
        &Default::default(),
    )
    .await
    .unwrap();
    let key = hod_db::vault::MasterKey::parse(&data_key).unwrap();
    hod_db::keys::unlock(&db, key, jiff::Timestamp::now())
        .await
        .unwrap();
    for _ in 0..300 {
        if outbox::pending_count(&db).await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = outbox::list(&db, None, None).await.unwrap();
    let _ = node.kill();
    let _ = node.wait();
    let latency = |channel: Channel| -> Vec<f64> {
        rows.iter()
            .filter(|m| m.channel == channel && m.status == DeliveryStatus::Sent)
            .filter_map(|m| m.finished_at.map(|f| f.duration_since(m.created_at)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect()
    };
    let offers = rows
        .iter()
        .filter(|m| m.channel == Channel::Email && m.subject == "You have a New Referral")
        .filter_map(|m| {
            m.finished_at
                .map(|f| f.duration_since(m.created_at).as_secs_f64() * 1000.0)
        })
        .collect();
    println!(
        "{submitted} requests from {clients} clients in {seconds} s ({:.0}/s); {} messages, {} not sent",
        submitted as f64 / seconds as f64,
        rows.len(),
        rows.iter()
            .filter(|m| m.status != DeliveryStatus::Sent)
            .count()
    );
    summary("decided -> taken by SMTP, offer emails", offers);
    summary(
        "decided -> taken by SMTP, all emails",
        latency(Channel::Email),
    );
    summary(
        "decided -> taken by the SMS API, all texts",
        latency(Channel::Sms),
    );
    summary("ceiling: one email straight to SMTP", mail_alone);
    summary("ceiling: one text straight to the SMS API", text_alone);
}
