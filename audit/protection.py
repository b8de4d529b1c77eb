"""On PostgreSQL, the database itself refuses UPDATE and DELETE on evidence tables.

The models already refuse changes in Python, but anyone with a database connection (a bug using
`QuerySet.update()`, a console session, a compromised web process) goes around Python. A row
trigger on each evidence table raises instead: the audit ledger, its checkpoints and
verifications, gate evaluations, and the history table of every model with history.

The triggers are (re)installed after every `migrate`, so the history table of a model added
later is covered as soon as it exists; `missing_protection()` lists any table that is not, and
a test fails on it.

The one sanctioned way to delete is the retention purge (audit/services/retention.py): inside its
transaction it sets `hitl.retention_purge` to 'on' with SET LOCAL, which lets DELETE (never
UPDATE) through on the tables marked purgeable, and on no other.

What this does not stop: a database superuser or the tables' owner can disable triggers
(`ALTER TABLE ... DISABLE TRIGGER`, `session_replication_role = replica`) or TRUNCATE. That is
why the ledger is also hash-chained and checkpointed: such an edit is still detected by
verification. Production should connect as a role that owns nothing.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import connections
from simple_history.models import HistoricalChanges

TRIGGER_NAME = "hitl_protect_evidence"
FUNCTION_NAME = "hitl_protect_evidence"
PURGE_SETTING = "hitl.retention_purge"

# Insert-only evidence without history tables (label: purgeable). A new insert-only model is
# added here; history tables need nothing, they are found by their class.
INSERT_ONLY_MODELS = {
    "audit.AuditEvent": True,
    "audit.LedgerCheckpoint": False,
    "audit.LedgerVerification": False,
    "oversight.GateEvaluation": True,
    "oversight.GuardrailEvaluation": False,
    "oversight.IssuedReport": False,
}

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION_NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND TG_ARGV[0] = 'purgeable'
       AND current_setting('{PURGE_SETTING}', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION
        '% on % refused: its rows are evidence and are never changed or deleted',
        TG_OP, TG_TABLE_NAME
        USING HINT = 'Corrections are new records; old rows leave only by the retention purge.';
END;
$$;
"""


@dataclass(frozen=True)
class ProtectedTable:
    table: str
    purgeable: bool

    @property
    def argument(self) -> str:
        return "purgeable" if self.purgeable else "kept"


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
    return [ProtectedTable(table, purgeable) for table, purgeable in sorted(tables.items())]


def _installed(connection) -> dict[str, tuple[bytes, str]]:
    """Table name -> (trigger arguments, enabled flag) of our trigger where it exists."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, t.tgargs, t.tgenabled
            FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            WHERE t.tgname = %s AND pg_table_is_visible(c.oid)
            """,
            [TRIGGER_NAME],
        )
        return {name: (bytes(args), enabled) for name, args, enabled in cursor.fetchall()}


def _expected_args(table: ProtectedTable) -> bytes:
    # pg_trigger.tgargs: each argument followed by a NUL byte.
    return table.argument.encode() + b"\0"


def missing_protection(using: str = "default") -> list[str]:
    """Evidence tables that exist but lack an enabled trigger with the right arguments."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    existing = set(connection.introspection.table_names())
    installed = _installed(connection)
    return [
        table.table
        for table in protected_tables()
        if table.table in existing and installed.get(table.table) != (_expected_args(table), "O")
    ]


def install_protection(using: str = "default") -> list[str]:
    """Install or repair the trigger on every evidence table; returns the tables it changed.

    Idempotent and cheap when nothing is missing: the function is replaced, triggers only
    where absent, disabled or out of date. Does nothing on other databases.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)
    missing = set(missing_protection(using))
    changed = []
    with connection.cursor() as cursor:
        for table in protected_tables():
            if table.table not in missing:
                continue
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {TRIGGER_NAME} "
                f"BEFORE UPDATE OR DELETE ON {quote(table.table)} "
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION_NAME}('{table.argument}')"
            )
            # A trigger disabled by hand stays disabled through CREATE OR REPLACE.
            cursor.execute(f"ALTER TABLE {quote(table.table)} ENABLE TRIGGER {TRIGGER_NAME}")
            changed.append(table.table)
    return changed


def install_protection_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver (audit/apps.py): every migrate leaves every evidence table guarded."""
    install_protection(using)


def allow_retention_purge(connection) -> None:
    """Let DELETE through on purgeable tables until the current transaction ends (SET LOCAL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])


def end_retention_purge(connection) -> None:
    """Close the purge window before the transaction ends (an outer transaction may go on)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'off', true)", [PURGE_SETTING])
