"""PostgreSQL functions behind the evidence triggers: the owned retention purge, and the check
that a live evidence row changed only together with its history.

The retention purge used to open DELETE by setting a GUC, which any session can set. Now the
DELETE trigger lets rows go only when `current_user` is `hitl_purger`, a role nobody logs in
as (NOLOGIN) and the application role is not a member of. The only way to act as it is to call
one of the two SECURITY DEFINER functions it owns, and they are narrow:

- `hitl_purge_ledger(through, retention_days)` deletes the ledger prefix up to `through` only
  if a signed purge checkpoint at `through` with that event's hash exists and every event up to
  it is older than `retention_days` (at least 183) by the database's own clock;
- `hitl_purge_gate_evaluations(ids, retention_days)` deletes, of the given ids, only the gate
  evaluations older than the retention (foreign keys still refuse the referenced ones);

and each writes an audit_purgerecord row (what, how many, for which session user). A session
with EXECUTE can therefore purge early at most what a legitimate purge with the six-month
minimum would, and never without a record.

The functions are (re)created after every migrate (audit/protection.py). Creating the role
needs CREATEROLE once; after that, a migrate role that owns the tables is enough.
"""

PURGER_ROLE = "hitl_purger"
MINIMUM_RETENTION_DAYS = 183

PURGE_FUNCTIONS_SQL = f"""
CREATE OR REPLACE FUNCTION hitl_purge_ledger(through bigint, retention_days integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    newest timestamptz;
    deleted bigint;
BEGIN
    IF retention_days IS NULL OR retention_days < {MINIMUM_RETENTION_DAYS} THEN
        RAISE EXCEPTION 'retention purge refused: % days is under the minimum of % days',
            retention_days, {MINIMUM_RETENTION_DAYS};
    END IF;
    SELECT max(occurred_at) INTO newest FROM audit_auditevent WHERE sequence <= through;
    IF newest IS NULL THEN
        RETURN 0;
    END IF;
    IF newest >= now() - make_interval(days => retention_days) THEN
        RAISE EXCEPTION 'retention purge refused: events up to #% are not all older than % days',
            through, retention_days;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM audit_ledgercheckpoint c
        JOIN audit_auditevent e ON e.sequence = c.sequence AND e.hash = c.head_hash
        WHERE c.kind = 'purge' AND c.sequence = through AND c.signature <> ''
    ) THEN
        RAISE EXCEPTION 'retention purge refused: no signed purge checkpoint at #%', through;
    END IF;
    DELETE FROM audit_auditevent WHERE sequence <= through;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    INSERT INTO audit_purgerecord
        (purged_at, "table", deleted, through_sequence, retention_days, database_user)
    VALUES (now(), 'audit_auditevent', deleted, through, retention_days, session_user);
    RETURN deleted;
END;
$$;

CREATE OR REPLACE FUNCTION hitl_purge_gate_evaluations(ids uuid[], retention_days integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    deleted bigint;
BEGIN
    IF retention_days IS NULL OR retention_days < {MINIMUM_RETENTION_DAYS} THEN
        RAISE EXCEPTION 'retention purge refused: % days is under the minimum of % days',
            retention_days, {MINIMUM_RETENTION_DAYS};
    END IF;
    DELETE FROM oversight_gateevaluation
    WHERE id = ANY(ids) AND created_at < now() - make_interval(days => retention_days);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    IF deleted > 0 THEN
        INSERT INTO audit_purgerecord
            (purged_at, "table", deleted, through_sequence, retention_days, database_user)
        VALUES (now(), 'oversight_gateevaluation', deleted, NULL, retention_days, session_user);
    END IF;
    RETURN deleted;
END;
$$;
"""

PURGE_FUNCTIONS = (
    "hitl_purge_ledger(bigint, integer)",
    "hitl_purge_gate_evaluations(uuid[], integer)",
)

# At commit, a row of a live evidence table must equal its latest history row on every column
# the history keeps: an UPDATE that django-simple-history did not write down is refused.
# Arguments: the history table and the primary key column. The current row is read again (not
# NEW), so several updates in one transaction are judged by where they end.
HISTORY_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION hitl_require_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    current_row jsonb;
    latest jsonb;
BEGIN
    EXECUTE format('SELECT to_jsonb(t) FROM %I t WHERE t.%I = ($1).%I',
                   TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[1])
        INTO current_row USING NEW;
    IF current_row IS NULL THEN
        RETURN NULL;  -- deleted later in the same transaction: the DELETE rules apply
    END IF;
    EXECUTE format('SELECT to_jsonb(h) FROM %I h WHERE h.%I = ($1).%I '
                   'ORDER BY h.history_id DESC LIMIT 1',
                   TG_ARGV[0], TG_ARGV[1], TG_ARGV[1])
        INTO latest USING NEW;
    IF latest IS NULL OR EXISTS (
        SELECT 1 FROM jsonb_each(current_row) AS col(key, value)
        WHERE latest ? col.key AND latest -> col.key IS DISTINCT FROM col.value
    ) THEN
        RAISE EXCEPTION
            'UPDATE on % refused: row % no longer matches its latest history row',
            TG_TABLE_NAME, current_row ->> TG_ARGV[1]
            USING HINT = 'Evidence changes through the product, which writes its history.';
    END IF;
    RETURN NULL;
END;
$$;
"""


def install_purge_functions(cursor, *, quote) -> None:
    """Create the purger role if needed, its functions, and exactly the rights it needs."""
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [PURGER_ROLE])
    if cursor.fetchone() is None:
        cursor.execute(f"CREATE ROLE {PURGER_ROLE} NOLOGIN")
    cursor.execute(
        "SELECT rolsuper OR pg_has_role(current_user, %s, 'MEMBER') FROM pg_roles "
        "WHERE rolname = current_user",
        [PURGER_ROLE],
    )
    if not cursor.fetchone()[0]:
        # A non-superuser can hand a function only to a role it belongs to (granting it needs
        # CREATEROLE, like creating the role: once).
        cursor.execute(f"GRANT {PURGER_ROLE} TO current_user")
    cursor.execute(PURGE_FUNCTIONS_SQL)
    for table, rights in (
        ("audit_auditevent", "SELECT, DELETE"),
        ("oversight_gateevaluation", "SELECT, DELETE"),
        ("audit_ledgercheckpoint", "SELECT"),
        ("audit_purgerecord", "INSERT"),
    ):
        cursor.execute(f"GRANT {rights} ON {quote(table)} TO {PURGER_ROLE}")
    cursor.execute("SELECT pg_get_serial_sequence('audit_purgerecord', 'id')")
    (sequence,) = cursor.fetchone()
    if sequence:
        cursor.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {PURGER_ROLE}")
    # A new owner needs CREATE on the schema, but only for the hand-over (superusers skip the
    # check): granted for the ALTER and taken back, so the purger can create nothing.
    cursor.execute("SELECT current_schema()")
    schema = quote(cursor.fetchone()[0])
    cursor.execute(f"GRANT CREATE ON SCHEMA {schema} TO {PURGER_ROLE}")
    for function in PURGE_FUNCTIONS:
        cursor.execute(f"ALTER FUNCTION {function} OWNER TO {PURGER_ROLE}")
        cursor.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {function} TO current_user")
    cursor.execute(f"REVOKE CREATE ON SCHEMA {schema} FROM {PURGER_ROLE}")
