-- Routing keeps each state's candidate facts in memory between decisions. Every change to a
-- fact routing reads logs the agent with the id of the writing transaction, so a node asks
-- only for the agents changed by transactions that had not ended when it last looked (those
-- at or above that look's snapshot xmin). Triggers do the logging, so that no write path can
-- forget it; a log rather than a stamp on the agent's row, so that closing offers does not
-- lock agents' rows. The sweeper prunes the log; a node that has not looked for longer
-- reloads the state.
CREATE TABLE routing_changes (
    xid         BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    agent_id    BIGINT NOT NULL,
    logged_at   BIGINT NOT NULL DEFAULT ((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
);
CREATE INDEX routing_changes_by_xid ON routing_changes (xid);
CREATE INDEX routing_changes_by_time ON routing_changes (logged_at);

-- Who prefers which state changes rarely; any change reloads that state's facts.
CREATE TABLE routing_layouts (
    state   TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE FUNCTION routing_log_agent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.agent_id IS NOT NULL THEN
        INSERT INTO routing_changes (agent_id) VALUES (OLD.agent_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.agent_id IS NOT NULL
        AND (TG_OP = 'INSERT' OR NEW.agent_id IS DISTINCT FROM OLD.agent_id) THEN
        INSERT INTO routing_changes (agent_id) VALUES (NEW.agent_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION routing_log_agent_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO routing_changes (agent_id) VALUES (NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION routing_log_npn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO routing_changes (agent_id) SELECT id FROM agents WHERE npn = OLD.npn;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO routing_changes (agent_id) SELECT id FROM agents WHERE npn = NEW.npn;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION routing_bump_layout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO routing_layouts (state, version)
        VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.state ELSE NEW.state END, 1)
        ON CONFLICT (state) DO UPDATE SET version = routing_layouts.version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER agents_facts AFTER INSERT OR UPDATE OF npn, first_name, last_name, email, phone,
    contact_method, zip, registered_at, suspended_at, last_offered_at, accept_rate, accept_secs,
    availability_mode, time_zone, absence_from, absence_until
    ON agents FOR EACH ROW EXECUTE FUNCTION routing_log_agent_row();
CREATE TRIGGER agent_languages_facts AFTER INSERT OR UPDATE OR DELETE ON agent_languages
    FOR EACH ROW EXECUTE FUNCTION routing_log_agent();
CREATE TRIGGER agent_hours_facts AFTER INSERT OR UPDATE OR DELETE ON agent_hours
    FOR EACH ROW EXECUTE FUNCTION routing_log_agent();
CREATE TRIGGER terms_acceptances_facts AFTER INSERT OR UPDATE OR DELETE ON terms_acceptances
    FOR EACH ROW EXECUTE FUNCTION routing_log_agent();
CREATE TRIGGER referral_offers_facts AFTER INSERT OR UPDATE OF status ON referral_offers
    FOR EACH ROW EXECUTE FUNCTION routing_log_agent();
CREATE TRIGGER referrals_facts AFTER UPDATE OF agent_id, status ON referrals
    FOR EACH ROW WHEN (OLD.agent_id IS NOT NULL OR NEW.agent_id IS NOT NULL)
    EXECUTE FUNCTION routing_log_agent();
CREATE TRIGGER eligibility_facts AFTER INSERT OR UPDATE OR DELETE ON eligibility
    FOR EACH ROW EXECUTE FUNCTION routing_log_npn();
CREATE TRIGGER state_preferences_facts AFTER INSERT OR UPDATE OR DELETE ON agent_state_preferences
    FOR EACH ROW EXECUTE FUNCTION routing_bump_layout();
