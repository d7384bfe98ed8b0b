-- The decision log is append-only: refuse UPDATE, DELETE and TRUNCATE on `decisions`
-- whoever asks (the application, a console, a migration). Applied by
-- `leadflow db enforce-append-only`; idempotent. To lift it for a deliberate, audited
-- operation: ALTER TABLE decisions DISABLE TRIGGER USER; ... ENABLE TRIGGER USER;
CREATE OR REPLACE FUNCTION leadflow_decisions_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'decisions are append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS decisions_append_only ON decisions;
CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions
  FOR EACH ROW EXECUTE FUNCTION leadflow_decisions_append_only();
DROP TRIGGER IF EXISTS decisions_no_truncate ON decisions;
CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
  FOR EACH STATEMENT EXECUTE FUNCTION leadflow_decisions_append_only();
