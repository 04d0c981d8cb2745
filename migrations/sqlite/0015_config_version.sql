-- What every request reads of the program's configuration (settings, plan years, the state
-- table, the published terms) is kept in memory by each node; triggers move one version on any
-- change to those tables, from any node or process, and a node reloads when it sees the
-- version move: one read per request instead of four. Keep in step with the migrations/postgres migration
-- of the same number.
CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);

CREATE TRIGGER config_program_settings_insert AFTER INSERT ON program_settings
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_program_settings_update AFTER UPDATE ON program_settings
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_program_settings_delete AFTER DELETE ON program_settings
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_plan_years_insert AFTER INSERT ON plan_years
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_plan_years_update AFTER UPDATE ON plan_years
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_plan_years_delete AFTER DELETE ON plan_years
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_marketplace_states_insert AFTER INSERT ON marketplace_states
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_marketplace_states_update AFTER UPDATE ON marketplace_states
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_marketplace_states_delete AFTER DELETE ON marketplace_states
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_terms_documents_insert AFTER INSERT ON terms_documents
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_terms_documents_update AFTER UPDATE ON terms_documents
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER config_terms_documents_delete AFTER DELETE ON terms_documents
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;
