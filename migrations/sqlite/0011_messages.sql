-- Letters in their reader's language (crates/i18n). An agent reads them in the language of
-- the pages they last used; an email keeps the HTML made from its template; a text keeps the
-- email address that gets it instead when it cannot be sent, and such an email is urgent.
ALTER TABLE agents ADD COLUMN ui_lang TEXT NOT NULL DEFAULT 'en' CHECK (ui_lang IN ('en', 'es'));
ALTER TABLE outbox ADD COLUMN lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es'));
ALTER TABLE outbox ADD COLUMN html TEXT;
ALTER TABLE outbox ADD COLUMN fallback_to TEXT;
-- A push goes to one of the agent's subscriptions (none: kept in the local outbox).
ALTER TABLE outbox ADD COLUMN subscription_id INTEGER;
ALTER TABLE outbox ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
-- When the agent was reminded of an offer half-way through its window.
ALTER TABLE referral_offers ADD COLUMN reminded_at INTEGER;

-- Web Push: the browsers and apps an agent subscribed (the browser's PushSubscription). A push
-- service that answers 404 or 410 for one removes it.
CREATE TABLE push_subscriptions (
    id              INTEGER PRIMARY KEY,
    agent_id        INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    endpoint        TEXT NOT NULL UNIQUE,
    p256dh          TEXT NOT NULL,
    auth            TEXT NOT NULL,
    user_agent      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_by_agent ON push_subscriptions (agent_id);
