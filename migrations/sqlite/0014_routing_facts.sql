-- Routing keeps each state's candidate facts in memory between decisions. Every change to a
-- fact routing reads logs the agent, so a node asks only for the agents logged since it last
-- looked. Triggers do the logging, so that no write path can forget it. SQLite has one writer
-- at a time, so the log's own sequence is the order of commits; the sweeper prunes the log
-- (keeping its newest entry, which carries the sequence on).
CREATE TABLE routing_changes (
    xid         INTEGER NOT NULL,
    agent_id    INTEGER NOT NULL,
    logged_at   INTEGER NOT NULL
);
CREATE INDEX routing_changes_by_xid ON routing_changes (xid);
CREATE INDEX routing_changes_by_time ON routing_changes (logged_at);

-- Who prefers which state changes rarely; any change reloads that state's facts.
CREATE TABLE routing_layouts (
    state   TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TRIGGER agents_facts_insert AFTER INSERT ON agents BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER agents_facts_update AFTER UPDATE OF npn, first_name, last_name, email, phone,
    contact_method, zip, registered_at, suspended_at, last_offered_at, accept_rate, accept_secs,
    availability_mode, time_zone, absence_from, absence_until ON agents BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER agent_languages_facts_insert AFTER INSERT ON agent_languages BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER agent_languages_facts_delete AFTER DELETE ON agent_languages BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), OLD.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER agent_languages_facts_update AFTER UPDATE ON agent_languages BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), OLD.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER agent_hours_facts_insert AFTER INSERT ON agent_hours BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER agent_hours_facts_delete AFTER DELETE ON agent_hours BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), OLD.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER agent_hours_facts_update AFTER UPDATE ON agent_hours BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), OLD.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER terms_acceptances_facts_insert AFTER INSERT ON terms_acceptances BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER terms_acceptances_facts_delete AFTER DELETE ON terms_acceptances BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), OLD.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER terms_acceptances_facts_update AFTER UPDATE ON terms_acceptances BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), OLD.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER referral_offers_facts_insert AFTER INSERT ON referral_offers BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER referral_offers_facts_update AFTER UPDATE OF status ON referral_offers BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), NEW.agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER);
END;

CREATE TRIGGER referrals_facts_update AFTER UPDATE OF agent_id, status ON referrals
    WHEN OLD.agent_id IS NOT NULL OR NEW.agent_id IS NOT NULL BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), agent_id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM (SELECT OLD.agent_id AS agent_id UNION SELECT NEW.agent_id) WHERE agent_id IS NOT NULL;
END;

CREATE TRIGGER eligibility_facts_insert AFTER INSERT ON eligibility BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM agents WHERE npn = NEW.npn;
END;

CREATE TRIGGER eligibility_facts_update AFTER UPDATE ON eligibility BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM agents WHERE npn = NEW.npn;
END;

CREATE TRIGGER eligibility_facts_delete AFTER DELETE ON eligibility BEGIN
    INSERT INTO routing_changes (xid, agent_id, logged_at)
    SELECT (SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes), id,
        CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM agents WHERE npn = OLD.npn;
END;

CREATE TRIGGER state_preferences_facts_insert AFTER INSERT ON agent_state_preferences BEGIN
    INSERT INTO routing_layouts (state, version) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER state_preferences_facts_delete AFTER DELETE ON agent_state_preferences BEGIN
    INSERT INTO routing_layouts (state, version) VALUES (OLD.state, 1)
        ON CONFLICT (state) DO UPDATE SET version = version + 1;
END;
