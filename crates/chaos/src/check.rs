//! The checker: what must hold after a run, from the database's record and the clients'.
use std::collections::{BTreeMap, HashMap};

use hod_db::history::History;

use crate::clients::Seen;

/// What must hold, read from the database and the clients' logs; the violations.
pub fn check(history: &History, seen: &Seen) -> (Vec<String>, String) {
    let mut bad = Vec::new();
    let History {
        referrals,
        offers,
        messages,
        integrity,
    } = history;
    let by_id: HashMap<i64, (&str, Option<i64>)> = referrals
        .iter()
        .map(|(id, s, a)| (*id, (s.as_str(), *a)))
        .collect();

    // Every acknowledged request is stored, once per key.
    let mut key_to_id: HashMap<&str, i64> = HashMap::new();
    let mut id_to_key: HashMap<i64, &str> = HashMap::new();
    for (key, id) in &seen.acked {
        if !by_id.contains_key(id) {
            bad.push(format!("acknowledged referral {id} ({key}) is not stored"));
        }
        if let Some(other) = key_to_id.insert(key, *id)
            && other != *id
        {
            bad.push(format!(
                "{key} was answered with referrals {other} and {id}"
            ));
        }
        if let Some(other) = id_to_key.insert(*id, key)
            && other != key
        {
            bad.push(format!(
                "referral {id} answers two requests, {other} and {key}"
            ));
        }
    }
    // None stuck; each ends accepted (and on) or unserved.
    let mut ends: BTreeMap<&str, u64> = BTreeMap::new();
    for (id, status, _) in referrals {
        *ends.entry(status.as_str()).or_default() += 1;
        if matches!(status.as_str(), "searching" | "offered") {
            bad.push(format!("referral {id} is still {status}"));
        }
    }
    // Nobody else holds an accepted referral.
    let mut accepted_offers: HashMap<i64, Vec<i64>> = HashMap::new();
    for (_, rid, agent, status) in offers {
        if status == "accepted" {
            accepted_offers.entry(*rid).or_default().push(*agent);
        }
    }
    for (rid, agents) in &accepted_offers {
        if agents.len() > 1 {
            bad.push(format!(
                "referral {rid} has {} accepted offers: {agents:?}",
                agents.len()
            ));
        }
        if by_id.get(rid).and_then(|(_, a)| *a) != Some(agents[0]) {
            bad.push(format!(
                "referral {rid}'s agent is not the one whose offer was accepted"
            ));
        }
    }
    let mut told: HashMap<i64, Vec<usize>> = HashMap::new();
    for (rid, agent) in &seen.accepted {
        told.entry(*rid).or_default().push(*agent);
    }
    for (rid, agents) in &told {
        if agents.len() > 1 {
            bad.push(format!(
                "referral {rid}: agents {agents:?} were all told they got it"
            ));
        }
    }
    // No message lost: each is written, and none is left waiting.
    let keys: Vec<&str> = messages.iter().filter_map(|(k, _)| k.as_deref()).collect();
    let has = |prefix: String| keys.iter().any(|k| k.starts_with(&prefix));
    for (id, status, _) in referrals {
        if !has(format!("consumer:{id}:confirmation:")) {
            bad.push(format!(
                "referral {id}: the consumer's confirmation is missing"
            ));
        }
        if status == "unserved" && !has(format!("consumer:{id}:fallback:")) {
            bad.push(format!(
                "referral {id}: the consumer's fallback message is missing"
            ));
        }
        if status == "accepted" && !has(format!("consumer:{id}:accepted:")) {
            bad.push(format!(
                "referral {id}: the consumer was not told of the agent"
            ));
        }
    }
    for (oid, rid, _, _) in offers {
        if !has(format!("offer:{oid}:")) {
            bad.push(format!(
                "offer {oid} (referral {rid}): the agent was not told"
            ));
        }
    }
    let pending = messages.iter().filter(|(_, s)| s == "pending").count();
    if pending > 0 {
        bad.push(format!("{pending} messages are still waiting to go"));
    }
    for e in &seen.errors {
        bad.push(format!("a client saw: {e}"));
    }
    if let Some(lines) = integrity
        && lines.as_slice() != ["ok"]
    {
        bad.push(format!("integrity_check: {lines:?}"));
    }
    let summary = format!(
        "{} requests acknowledged, {} referrals stored ({ends:?}), {} offers, {} messages; answers by status (0 = no answer) {:?}",
        seen.acked.len(),
        referrals.len(),
        offers.len(),
        messages.len(),
        seen.statuses
    );
    (bad, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One referral accepted by agent 7 through offer 1, with its messages, as seen.
    fn sound() -> (History, Seen) {
        let history = History {
            referrals: vec![(1, "accepted".into(), Some(7))],
            offers: vec![(1, 1, 7, "accepted".into())],
            messages: [
                "consumer:1:confirmation:sms",
                "offer:1:email",
                "consumer:1:accepted:sms",
            ]
            .into_iter()
            .map(|k| (Some(k.to_owned()), "stored".to_owned()))
            .collect(),
            integrity: Some(vec!["ok".into()]),
        };
        let seen = Seen {
            acked: vec![("k1".into(), 1)],
            accepted: vec![(1, 0)],
            ..Seen::default()
        };
        (history, seen)
    }

    fn violations(history: &History, seen: &Seen) -> Vec<String> {
        check(history, seen).0
    }

    #[test]
    fn a_sound_run_passes() {
        let (h, s) = sound();
        assert_eq!(violations(&h, &s), Vec::<String>::new());
    }

    #[test]
    fn each_broken_promise_is_named() {
        let (h, mut s) = sound();
        s.acked.push(("k2".into(), 2));
        assert!(violations(&h, &s)[0].contains("acknowledged referral 2"));

        let (mut h, s) = sound();
        h.referrals[0].1 = "offered".into();
        assert!(
            violations(&h, &s)
                .iter()
                .any(|v| v.contains("still offered"))
        );

        let (mut h, s) = sound();
        h.offers.push((2, 1, 8, "accepted".into()));
        h.messages
            .push((Some("offer:2:email".into()), "stored".into()));
        assert!(
            violations(&h, &s)
                .iter()
                .any(|v| v.contains("2 accepted offers"))
        );

        let (h, mut s) = sound();
        s.accepted.push((1, 3));
        assert!(
            violations(&h, &s)
                .iter()
                .any(|v| v.contains("were all told"))
        );

        let (mut h, s) = sound();
        h.messages
            .retain(|(k, _)| k.as_deref() != Some("offer:1:email"));
        assert!(
            violations(&h, &s)
                .iter()
                .any(|v| v.contains("agent was not told"))
        );

        let (mut h, s) = sound();
        h.messages[0].1 = "pending".into();
        assert!(
            violations(&h, &s)
                .iter()
                .any(|v| v.contains("still waiting"))
        );

        let (mut h, s) = sound();
        h.integrity = Some(vec!["row 3 missing from index".into()]);
        assert!(
            violations(&h, &s)
                .iter()
                .any(|v| v.contains("integrity_check"))
        );

        let (h, mut s) = sound();
        s.acked.push(("k1".into(), 5));
        assert!(
            violations(&h, &s)
                .iter()
                .any(|v| v.contains("answered with referrals 1 and 5"))
        );
    }
}
