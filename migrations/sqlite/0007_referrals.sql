-- Consumer requests and routing (SPEC.md §6): partner API keys, referrals, the offers made for
-- them, their history (statuses, offers, decision logs) and the consumer's consent recorded by
-- the agent. Keep in step with the migrations/postgres migration of the same number.

-- Partner systems submit referrals with a bearer key; only its SHA-256 is stored.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- status: see SPEC.md §9.1. due_at is when the router must look at the referral again (the
-- first open offer to lapse, the next cascade step, the end of the maximum wait); NULL once
-- it is no longer routing. Contact details (names, phone, email, best time) are read only by
-- queries that check the accepting agent.
CREATE TABLE referrals (
    id                  INTEGER PRIMARY KEY,
    plan_year           INTEGER NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('searching', 'offered', 'accepted',
                            'follow_up_completed', 'quote_completed', 'sold', 'deferred', 'delayed',
                            'not_a_good_prospect', 'unserved', 'cancelled')),
    zip                 TEXT NOT NULL,
    city                TEXT NOT NULL,
    state               TEXT NOT NULL,
    language            TEXT NOT NULL,
    reason              TEXT NOT NULL CHECK (reason IN ('new_coverage', 'change', 'special_enrollment')),
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    phone               TEXT NOT NULL,
    email               TEXT,
    contact_by          TEXT NOT NULL CHECK (contact_by IN ('call', 'text')),
    best_time           TEXT NOT NULL DEFAULT '',
    -- The language of the messages to the consumer ('en' or 'es').
    ui_lang             TEXT NOT NULL,
    consent_version     TEXT NOT NULL,
    consent_at          INTEGER NOT NULL,
    consent_ip          TEXT,
    consent_user_agent  TEXT,
    source              TEXT NOT NULL CHECK (source IN ('web', 'api')),
    api_key_id          INTEGER REFERENCES api_keys (id),
    idempotency_key     TEXT,
    -- SHA-256 of the person (name, phone, ZIP): a second submission within the window is the same request.
    person_key          TEXT NOT NULL,
    agent_id            INTEGER REFERENCES agents (id),
    accepted_at         INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    due_at              INTEGER,
    last_offer_at       INTEGER,
    reminder_due_at     INTEGER,
    unserved_reason     TEXT,
    UNIQUE (api_key_id, idempotency_key)
);
CREATE INDEX referrals_due ON referrals (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX referrals_reminders ON referrals (reminder_due_at) WHERE reminder_due_at IS NOT NULL;
CREATE INDEX referrals_by_agent ON referrals (agent_id, status);
CREATE INDEX referrals_by_person ON referrals (person_key, created_at);
CREATE INDEX referrals_by_status ON referrals (status, created_at);

-- One offer per agent and referral: nobody is offered the same referral twice.
CREATE TABLE referral_offers (
    id              INTEGER PRIMARY KEY,
    referral_id     INTEGER NOT NULL REFERENCES referrals (id),
    agent_id        INTEGER NOT NULL REFERENCES agents (id),
    status          TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'expired', 'withdrawn')),
    offered_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    decided_at      INTEGER,
    decline_reason  TEXT,
    UNIQUE (referral_id, agent_id)
);
CREATE INDEX referral_offers_open_by_agent ON referral_offers (agent_id) WHERE status = 'open';

-- The referral's timeline: submissions, decision logs, offers and their outcomes, statuses
-- (with note and account number), reminders. actor: 'consumer', 'system', 'agent:ID', 'partner:ID'.
CREATE TABLE referral_events (
    id              INTEGER PRIMARY KEY,
    referral_id     INTEGER NOT NULL REFERENCES referrals (id),
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT,
    note            TEXT NOT NULL DEFAULT '',
    account_number  TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX referral_events_by_referral ON referral_events (referral_id, id);

-- The consumer's consent in the terms of the CMS model consent form, kept ten years.
CREATE TABLE referral_consents (
    id              INTEGER PRIMARY KEY,
    referral_id     INTEGER NOT NULL REFERENCES referrals (id),
    agent_id        INTEGER NOT NULL REFERENCES agents (id),
    consumer_name   TEXT NOT NULL,
    agent_name      TEXT NOT NULL,
    scope           TEXT NOT NULL,
    duration        TEXT NOT NULL,
    consented_on    TEXT NOT NULL,
    withdraw_how    TEXT NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('verbal', 'written', 'electronic')),
    recorded_at     INTEGER NOT NULL,
    keep_until      INTEGER NOT NULL
);
CREATE INDEX referral_consents_by_referral ON referral_consents (referral_id);

-- What routing remembers of each agent: fairness (last offer), the missed-offer streak that
-- switches an agent to red, and responsiveness as moving averages.
ALTER TABLE agents ADD COLUMN last_offered_at INTEGER;
ALTER TABLE agents ADD COLUMN missed_offers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN accept_rate REAL NOT NULL DEFAULT 0.5;
ALTER TABLE agents ADD COLUMN accept_secs REAL NOT NULL DEFAULT 300;

CREATE INDEX agent_state_preferences_by_state ON agent_state_preferences (state, agent_id);

-- 'web' (cookie, short idle time) or 'app' (bearer token of the agent app).
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT 'web';
