-- Availability (SPEC.md §5): standard hours per weekday in the agent's time zone (several
-- periods a day), the override switch and Extended Absence. Keep in step with the migrations/sqlite
-- migration of the same number.

-- weekday: 0 = Monday … 6 = Sunday; times are HH:MM (24:00 = end of day).
CREATE TABLE agent_hours (
    agent_id    BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    weekday     BIGINT NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    PRIMARY KEY (agent_id, weekday, starts_at)
);

-- availability_mode: 'schedule' (follow the hours), 'available' (green), 'unavailable' (red).
ALTER TABLE agents ADD COLUMN availability_mode TEXT NOT NULL DEFAULT 'schedule';
-- IANA time zone of the hours; NULL = the time zone of the agent's ZIP code.
ALTER TABLE agents ADD COLUMN time_zone TEXT;
ALTER TABLE agents ADD COLUMN absence_from TEXT;
ALTER TABLE agents ADD COLUMN absence_until TEXT;
