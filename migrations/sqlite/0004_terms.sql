-- Terms of Use (SPEC.md §3): versioned texts, and which version each agent accepted. Keep
-- in step with the migrations/postgres migration of the same number.

-- kind: 'agent_broker' (Agent/Broker Terms of Use) or 'hod' (Help On Demand Terms of Use).
-- The newest published version of each kind is the one agents must accept.
CREATE TABLE terms_documents (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('agent_broker', 'hod')),
    version         TEXT NOT NULL,
    title_en        TEXT NOT NULL,
    title_es        TEXT NOT NULL,
    body_en         TEXT NOT NULL,
    body_es         TEXT NOT NULL,
    published_at    INTEGER NOT NULL,
    UNIQUE (kind, version)
);

CREATE TABLE terms_acceptances (
    agent_id        INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    document_id     INTEGER NOT NULL REFERENCES terms_documents (id),
    accepted_at     INTEGER NOT NULL,
    PRIMARY KEY (agent_id, document_id)
);

-- When the agent last declined the current terms (cleared on acceptance).
ALTER TABLE agents ADD COLUMN terms_declined_at INTEGER;
