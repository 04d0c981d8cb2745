-- What every request reads of the program's configuration (settings, plan years, the state
-- table, the published terms) is kept in memory by each node; triggers move one version on any
-- change to those tables, from any node or process, and a node reloads when it sees the
-- version move: one read per request instead of four. Keep in step with the migrations/sqlite migration
-- of the same number.
CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);

CREATE FUNCTION config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER config_program_settings_changed AFTER INSERT OR UPDATE OR DELETE ON program_settings
    FOR EACH STATEMENT EXECUTE FUNCTION config_changed();

CREATE TRIGGER config_plan_years_changed AFTER INSERT OR UPDATE OR DELETE ON plan_years
    FOR EACH STATEMENT EXECUTE FUNCTION config_changed();

CREATE TRIGGER config_marketplace_states_changed AFTER INSERT OR UPDATE OR DELETE ON marketplace_states
    FOR EACH STATEMENT EXECUTE FUNCTION config_changed();

CREATE TRIGGER config_terms_documents_changed AFTER INSERT OR UPDATE OR DELETE ON terms_documents
    FOR EACH STATEMENT EXECUTE FUNCTION config_changed();
