"""On PostgreSQL, the database itself refuses UPDATE, DELETE and TRUNCATE on evidence tables.

The models already refuse changes in Python, but anyone with a database connection (a bug using
`QuerySet.update()`, a console session, a compromised web process) goes around Python. So:

- a row trigger on each insert-only evidence table raises on UPDATE and DELETE: the audit
  ledger, its checkpoints, verifications and purge records, gate and guardrail evaluations,
  issued reports, and the history table of every model with history. Its one exception is
  sealing a pending ledger event (audit/services/sealing.py): an UPDATE that only fills in the
  empty sequence, prev_hash and hash of an event, once;
- a statement trigger raises on TRUNCATE (which fires no row trigger) on those tables and on
  the live evidence tables: the ledger head, and every model with history (cases, decisions,
  grants, training completions, judgement points, ...);
- a deferred constraint trigger on decisions, authority grants, training completions and
  judgement points refuses, at commit, any UPDATE after which the row differs from its latest
  history row: a change made without django-simple-history writing it down (audit/purge_sql.py
  has the function).

Everything is (re)installed after every `migrate`, so the history table of a model added
later is covered as soon as it exists; `missing_protection()` lists any table that is not, and
a test fails on it.

The one sanctioned way to delete is the retention purge, and it is not a switch a session can
flip: the DELETE trigger lets rows of the purgeable tables go only when the current user is the
`hitl_purger` role, which nobody logs in as; the SECURITY DEFINER functions it owns (see
audit/purge_sql.py) are the only way to act as it, and they delete only rows past retention
and record what they deleted. (The GUC `hitl.retention_purge` that used to open the window from
any session is gone.)

What this does not stop: a database superuser or the tables' owner can still disable triggers
(`ALTER TABLE ... DISABLE TRIGGER`, `session_replication_role = replica`). That is why the web
and worker processes connect as a role that owns nothing (`manage.py create_app_db_role`), and
why the ledger is hash-chained and anchored by signed checkpoints: such an edit is still
detected by verification (docs/reliability.md).
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import connections
from simple_history.models import HistoricalChanges

from audit.purge_sql import HISTORY_FUNCTION_SQL, PURGER_ROLE, install_purge_functions

TRIGGER_NAME = "hitl_protect_evidence"
FUNCTION_NAME = "hitl_protect_evidence"
TRUNCATE_TRIGGER_NAME = "hitl_refuse_truncate"
TRUNCATE_FUNCTION_NAME = "hitl_refuse_truncate"
HISTORY_TRIGGER_NAME = "hitl_require_history"

# Insert-only evidence without history tables (label: purgeable). A new insert-only model is
# added here; history tables need nothing, they are found by their class.
INSERT_ONLY_MODELS = {
    "audit.AuditEvent": True,
    "audit.LedgerCheckpoint": False,
    "audit.LedgerVerification": False,
    "oversight.GateEvaluation": True,
    "oversight.GuardrailEvaluation": False,
    "oversight.IssuedReport": False,
    "oversight.IncidentReminder": False,
    "audit.PurgeRecord": False,
}

# Insert-only tables whose pending rows may be sealed once (the trigger's second argument).
SEALABLE_MODELS = ("audit.AuditEvent",)
SEALABLE = "sealable"

# Live evidence tables (updated in place, with history) that must not be emptied either.
TRUNCATE_ONLY_MODELS = ("audit.LedgerHead",)

# Live tables whose rows must match their latest history row at commit: the evidence the
# issue named. Each is changed by the product only through save(), which writes history.
HISTORY_REQUIRED_MODELS = (
    "oversight.Decision",
    "oversight.AuthorityGrant",
    "literacy.TrainingCompletion",
    "oversight.JudgementPoint",
    "oversight.Incident",
)

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION_NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Only inside the purge functions (SECURITY DEFINER, owned by {PURGER_ROLE}).
    IF TG_OP = 'DELETE' AND TG_ARGV[0] = 'purgeable' AND current_user = '{PURGER_ROLE}' THEN
        RETURN OLD;
    END IF;
    -- The ledger's one sanctioned UPDATE: sealing a pending event (audit/services/sealing.py).
    -- Pending before, every chain field set after, every other column exactly as it was.
    -- (Nested IF: the row's fields are read only on the table that has them.)
    IF TG_OP = 'UPDATE' AND TG_NARGS > 1 AND TG_ARGV[1] = '{SEALABLE}' THEN
        IF OLD.sequence IS NULL AND OLD.hash IS NULL AND OLD.prev_hash = ''
            AND NEW.sequence IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.prev_hash <> ''
            AND (to_jsonb(NEW) - ARRAY['sequence', 'prev_hash', 'hash'])
                = (to_jsonb(OLD) - ARRAY['sequence', 'prev_hash', 'hash'])
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION
        '% on % refused: its rows are evidence and are never changed or deleted',
        TG_OP, TG_TABLE_NAME
        USING HINT = 'Corrections are new records; old rows leave only by the retention purge.';
END;
$$;

CREATE OR REPLACE FUNCTION {TRUNCATE_FUNCTION_NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE on % refused: its rows are evidence and are never emptied',
        TG_TABLE_NAME
        USING HINT = 'Old rows leave only by the retention purge (manage.py purge_retention).';
END;
$$;
"""


@dataclass(frozen=True)
class ProtectedTable:
    table: str
    purgeable: bool
    sealable: bool = False

    @property
    def argument(self) -> str:
        return "purgeable" if self.purgeable else "kept"

    @property
    def arguments(self) -> tuple[str, ...]:
        return (self.argument, SEALABLE) if self.sealable else (self.argument,)


def protected_tables() -> list[ProtectedTable]:
    """Every evidence table: the insert-only ones and the history table of every model."""
    tables = {}
    for label, purgeable in INSERT_ONLY_MODELS.items():
        try:
            tables[apps.get_model(label)._meta.db_table] = purgeable
        except LookupError:
            # A renamed model must not break `migrate`; a test fails on it instead.
            continue
    for model in apps.get_models():
        if issubclass(model, HistoricalChanges):
            tables.setdefault(model._meta.db_table, False)
    sealable = set()
    for label in SEALABLE_MODELS:
        try:
            sealable.add(apps.get_model(label)._meta.db_table)
        except LookupError:
            continue
    return [
        ProtectedTable(table, purgeable, table in sealable)
        for table, purgeable in sorted(tables.items())
    ]


def _history_tracked_models():
    return [
        model
        for model in apps.get_models()
        if getattr(model._meta, "simple_history_manager_attribute", None)
        and not issubclass(model, HistoricalChanges)
    ]


def truncate_protected_tables() -> list[str]:
    """Every table TRUNCATE is refused on: the insert-only evidence, the ledger head and every
    live model with history (cases, decisions, grants, completions, judgement points, ...)."""
    tables = {table.table for table in protected_tables()}
    for label in TRUNCATE_ONLY_MODELS:
        tables.add(apps.get_model(label)._meta.db_table)
    tables.update(model._meta.db_table for model in _history_tracked_models())
    return sorted(tables)


@dataclass(frozen=True)
class HistoryRequirement:
    table: str
    history_table: str
    pk_column: str


def history_required_tables() -> list[HistoryRequirement]:
    requirements = []
    for label in HISTORY_REQUIRED_MODELS:
        model = apps.get_model(label)
        history = getattr(model, model._meta.simple_history_manager_attribute).model
        requirements.append(
            HistoryRequirement(model._meta.db_table, history._meta.db_table, model._meta.pk.column)
        )
    return requirements


def _installed(connection, trigger_name: str = TRIGGER_NAME) -> dict[str, tuple[bytes, str]]:
    """Table name -> (trigger arguments, enabled flag) of one of our triggers where it exists."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, t.tgargs, t.tgenabled
            FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            WHERE t.tgname = %s AND pg_table_is_visible(c.oid)
            """,
            [trigger_name],
        )
        return {name: (bytes(args), enabled) for name, args, enabled in cursor.fetchall()}


def _args(*arguments: str) -> bytes:
    # pg_trigger.tgargs: each argument followed by a NUL byte.
    return b"".join(argument.encode() + b"\0" for argument in arguments)


def _expected_args(table: ProtectedTable) -> bytes:
    return _args(*table.arguments)


def _missing(connection) -> dict[str, set[str]]:
    """Trigger name -> the tables that exist but lack it (enabled, with the right arguments)."""
    existing = set(connection.introspection.table_names())
    row, truncate, history = (
        _installed(connection, name)
        for name in (TRIGGER_NAME, TRUNCATE_TRIGGER_NAME, HISTORY_TRIGGER_NAME)
    )
    return {
        TRIGGER_NAME: {
            table.table
            for table in protected_tables()
            if table.table in existing and row.get(table.table) != (_expected_args(table), "O")
        },
        TRUNCATE_TRIGGER_NAME: {
            table
            for table in truncate_protected_tables()
            if table in existing and truncate.get(table) != (b"", "O")
        },
        HISTORY_TRIGGER_NAME: {
            requirement.table
            for requirement in history_required_tables()
            if requirement.table in existing
            and history.get(requirement.table)
            != (_args(requirement.history_table, requirement.pk_column), "O")
        },
    }


def missing_protection(using: str = "default") -> list[str]:
    """Evidence tables that exist but lack one of their triggers, enabled and up to date."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    return sorted(set().union(*_missing(connection).values()))


def install_protection(using: str = "default") -> list[str]:
    """Install or repair every trigger and the purge functions; returns the tables it changed.

    Idempotent and cheap when nothing is missing: the functions are replaced, triggers only
    where absent, disabled or out of date. Does nothing on other databases.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)
        cursor.execute(HISTORY_FUNCTION_SQL)
        install_purge_functions(cursor, quote=quote)
    missing = _missing(connection)
    changed = set()
    with connection.cursor() as cursor:
        for table in protected_tables():
            if table.table not in missing[TRIGGER_NAME]:
                continue
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {TRIGGER_NAME} "
                f"BEFORE UPDATE OR DELETE ON {quote(table.table)} "
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION_NAME}"
                f"({', '.join(repr(argument) for argument in table.arguments)})"
            )
            # A trigger disabled by hand stays disabled through CREATE OR REPLACE.
            cursor.execute(f"ALTER TABLE {quote(table.table)} ENABLE TRIGGER {TRIGGER_NAME}")
            changed.add(table.table)
        for table in missing[TRUNCATE_TRIGGER_NAME]:
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {TRUNCATE_TRIGGER_NAME} BEFORE TRUNCATE ON "
                f"{quote(table)} FOR EACH STATEMENT EXECUTE FUNCTION {TRUNCATE_FUNCTION_NAME}()"
            )
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE TRIGGER {TRUNCATE_TRIGGER_NAME}")
            changed.add(table)
        for requirement in history_required_tables():
            if requirement.table not in missing[HISTORY_TRIGGER_NAME]:
                continue
            # Constraint triggers have no CREATE OR REPLACE.
            cursor.execute(
                f"DROP TRIGGER IF EXISTS {HISTORY_TRIGGER_NAME} ON {quote(requirement.table)}"
            )
            cursor.execute(
                f"CREATE CONSTRAINT TRIGGER {HISTORY_TRIGGER_NAME} AFTER UPDATE ON "
                f"{quote(requirement.table)} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION {HISTORY_TRIGGER_NAME}"
                f"('{requirement.history_table}', '{requirement.pk_column}')"
            )
            changed.add(requirement.table)
    return sorted(changed)


def install_protection_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver (audit/apps.py): every migrate leaves every evidence table guarded,
    and re-grants the application's database role on new tables when one is configured."""
    install_protection(using)
    from audit.database_roles import grant_configured_app_role

    grant_configured_app_role(using)
