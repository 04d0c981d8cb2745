-- The sweeper looks for open offers half-way through their window on every pass, on every
-- node: without an index that was a scan of every offer ever made (12–18 ms a pass at 24,000
-- open offers, growing with the program). Keep in step with the migration of the same number
-- for the other database; the expression is the one `take_due_offer_reminders` orders by.
CREATE INDEX referral_offers_unreminded ON referral_offers ((offered_at + (expires_at - offered_at) / 2))
    WHERE status = 'open' AND reminded_at IS NULL;

-- The language an agent's letters are written in joins the routing facts, so that an offer's
-- letters are addressed from them rather than from one more read in the routing transaction.
-- When an agent was last offered a referral is read from their offers, not kept on their row:
-- every round updated that row, and concurrent rounds in one area, which pick the same best
-- agent, waited for each other's commits to do it.
DROP TRIGGER agents_facts ON agents;
CREATE TRIGGER agents_facts AFTER INSERT OR UPDATE OF npn, first_name, last_name, email, phone,
    contact_method, zip, registered_at, suspended_at, accept_rate, accept_secs,
    availability_mode, time_zone, absence_from, absence_until, ui_lang
    ON agents FOR EACH ROW EXECUTE FUNCTION routing_log_agent_row();

ALTER TABLE agents DROP COLUMN last_offered_at;
CREATE INDEX referral_offers_by_agent ON referral_offers (agent_id, offered_at);
