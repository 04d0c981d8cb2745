-- What a provider called a message it took (an SMS provider's message sid), so its delivery
-- reports can be matched to the outbox row, and the last status it reported.
ALTER TABLE outbox ADD COLUMN provider_id TEXT;
ALTER TABLE outbox ADD COLUMN provider_status TEXT;
CREATE INDEX outbox_by_provider_id ON outbox (provider_id);
