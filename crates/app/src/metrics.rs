//! The application's Prometheus metrics: their names and help texts in one place. The
//! counters are bumped where the work is done (after its transaction commits); gauges that
//! describe the database (outbox, pool) are read when `/metrics` is scraped.

pub const HTTP_REQUESTS: &str = "hod_http_requests_total";
pub const HTTP_DURATION: &str = "hod_http_request_duration_seconds";
pub const HTTP_CONNECTIONS: &str = "hod_http_connections_open";
pub const BUILD_INFO: &str = "hod_build_info";
pub const DB_CONNECTIONS: &str = "hod_db_pool_connections";
pub const DB_MAX_CONNECTIONS: &str = "hod_db_pool_max_connections";
pub const OUTBOX_MESSAGES: &str = "hod_outbox_messages";
pub const OUTBOX_OLDEST_PENDING: &str = "hod_outbox_oldest_pending_age_seconds";
pub const MESSAGES: &str = "hod_messages_total";
pub const MESSAGE_DELIVERY: &str = "hod_message_delivery_seconds";
pub const REFERRALS_SUBMITTED: &str = "hod_referrals_submitted_total";
pub const REFERRALS_ACCEPTED: &str = "hod_referrals_accepted_total";
pub const REFERRALS_UNSERVED: &str = "hod_referrals_unserved_total";
pub const TIME_TO_ACCEPT: &str = "hod_referral_time_to_accept_seconds";
pub const OFFERS: &str = "hod_offers_total";
pub const OFFER_DECLINES: &str = "hod_offer_declines_total";
pub const OFFERS_EXPIRED: &str = "hod_offers_expired_total";
pub const LOGIN_FAILURES: &str = "hod_login_failures_total";
pub const LOCKOUTS: &str = "hod_account_lockouts_total";
pub const SWEEPER_LAST_RUN: &str = "hod_sweeper_last_run_timestamp_seconds";
pub const DAILY_JOB_LAST_RUN: &str = "hod_daily_eligibility_last_run_timestamp_seconds";

/// Upper bounds of the time-to-accept histogram: offers last minutes, not milliseconds.
pub const TIME_TO_ACCEPT_BUCKETS: &[f64] = &[
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
];

/// Gives every metric its help text (Prometheus shows it; `promtool check metrics` wants it).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route."
    );
    describe_gauge!(HTTP_CONNECTIONS, "HTTP connections open now.");
    describe_gauge!(BUILD_INFO, "Always 1; the version of hod in its label.");
    describe_gauge!(
        DB_CONNECTIONS,
        "Database connections of this node's pool, by state (in_use, idle)."
    );
    describe_gauge!(
        DB_MAX_CONNECTIONS,
        "The most connections this node's pool opens."
    );
    describe_histogram!(
        hod_db::WAIT_METRIC,
        Unit::Seconds,
        "Time a write transaction waited for its turn and a connection before it began."
    );
    describe_histogram!(
        hod_db::HELD_METRIC,
        Unit::Seconds,
        "Time a write transaction was open, from its start to its commit or rollback (on SQLite, how long it held the one writer)."
    );
    describe_gauge!(
        OUTBOX_MESSAGES,
        "Messages in the outbox, by status (pending, sent, stored, failed)."
    );
    describe_gauge!(
        OUTBOX_OLDEST_PENDING,
        Unit::Seconds,
        "Age of the oldest message waiting to be sent (0 when none waits)."
    );
    describe_counter!(
        MESSAGES,
        "Messages this node's dispatcher finished with, by channel and outcome (sent: a provider took it; stored: no provider is configured, kept in the local outbox; retried: a failed attempt to try again; dead: given up)."
    );
    describe_histogram!(
        MESSAGE_DELIVERY,
        Unit::Seconds,
        "Time from a message being queued to a provider taking it, by channel."
    );
    describe_counter!(
        REFERRALS_SUBMITTED,
        "Consumer requests accepted for routing by this node, by source (web, api)."
    );
    describe_counter!(
        REFERRALS_ACCEPTED,
        "Referrals accepted by an agent on this node."
    );
    describe_counter!(
        REFERRALS_UNSERVED,
        "Referrals this node gave up on (nobody left, or the maximum wait passed)."
    );
    describe_histogram!(
        TIME_TO_ACCEPT,
        Unit::Seconds,
        "Time from a consumer's request to an agent's acceptance."
    );
    describe_counter!(OFFERS, "Referral offers made to agents by this node.");
    describe_counter!(
        OFFER_DECLINES,
        "Referral offers declined by agents on this node."
    );
    describe_counter!(
        OFFERS_EXPIRED,
        "Referral offers that lapsed unanswered, found by this node."
    );
    describe_counter!(
        LOGIN_FAILURES,
        "Failed agent log-ins (wrong password or locked)."
    );
    describe_counter!(
        LOCKOUTS,
        "Agent accounts locked after repeated failed log-ins."
    );
    describe_gauge!(
        SWEEPER_LAST_RUN,
        Unit::Seconds,
        "When this node's referral sweeper last finished a run (Unix time)."
    );
    describe_gauge!(
        DAILY_JOB_LAST_RUN,
        Unit::Seconds,
        "When this node last ran the daily eligibility evaluation (Unix time)."
    );
}
