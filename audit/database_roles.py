"""The least-privilege PostgreSQL role the web and worker processes connect as.

A process that connects as the tables' owner (or a superuser) can switch every evidence trigger
off: `ALTER TABLE ... DISABLE TRIGGER` and `session_replication_role` need ownership or
superuser. The application role owns nothing and is neither, so for it the triggers hold:

- insert-only evidence (ledger, checkpoints, verifications, purge records, gate and guardrail
  evaluations, issued reports, every history table): SELECT and INSERT only, plus, on the
  ledger, UPDATE of its three chain columns alone, for sealing a pending event (the trigger
  lets that one change through and nothing else);
- live evidence (the ledger head, cases, outcomes, decisions, grants, training completions,
  judgement points): SELECT, INSERT and UPDATE, no DELETE;
- every other table (configuration with history, sessions, the task queue, ...): SELECT,
  INSERT, UPDATE and DELETE;
- nowhere TRUNCATE, REFERENCES or TRIGGER; EXECUTE on the two purge functions, which are the
  only way it can delete evidence (audit/purge_sql.py).

Migrations run as another role, the owner. Re-run `manage.py create_app_db_role` after each
`migrate`, or set DATABASE_APP_ROLE and `migrate` re-grants it itself.
"""

from django.apps import apps
from django.conf import settings
from django.db import connections

from audit.protection import protected_tables
from audit.purge_sql import PURGE_FUNCTIONS
from audit.services.sealing import CHAIN_COLUMNS

# Live evidence: updated in place (with history), never deleted by the application.
NO_DELETE_MODELS = (
    "audit.LedgerHead",
    "oversight.Case",
    "oversight.Outcome",
    "oversight.Decision",
    "oversight.AuthorityGrant",
    "literacy.TrainingCompletion",
    "oversight.JudgementPoint",
)
READ_ONLY_TABLES = ("django_migrations",)


class RoleRefused(Exception):
    """The role cannot be used as the application role; the message says why."""


def table_rights() -> dict[str, str]:
    """Table -> the privileges the application role gets on it (tables that exist only)."""
    rights = {}
    insert_only = {table.table for table in protected_tables()}
    no_delete = {apps.get_model(label)._meta.db_table for label in NO_DELETE_MODELS}
    with connections["default"].cursor() as cursor:
        existing = connections["default"].introspection.table_names(cursor)
    sealable = {table.table for table in protected_tables() if table.sealable}
    for table in existing:
        if table in sealable:
            rights[table] = f"SELECT, INSERT, UPDATE ({', '.join(CHAIN_COLUMNS)})"
        elif table in insert_only:
            rights[table] = "SELECT, INSERT"
        elif table in READ_ONLY_TABLES:
            rights[table] = "SELECT"
        elif table in no_delete:
            rights[table] = "SELECT, INSERT, UPDATE"
        else:
            rights[table] = "SELECT, INSERT, UPDATE, DELETE"
    return rights


def _role_problems(cursor, role: str) -> list[str]:
    cursor.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
        "FROM pg_roles WHERE rolname = %s",
        [role],
    )
    flags = cursor.fetchone()
    problems = []
    names = ("SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS")
    problems += [f"it has {name}" for name, on in zip(names, flags, strict=True) if on]
    cursor.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = %s",
        [role],
    )
    if cursor.fetchone()[0]:
        problems.append("it owns tables or sequences in this database")
    cursor.execute(
        "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s",
        [role],
    )
    problems += [f"it is a member of {name}" for (name,) in cursor.fetchall()]
    return problems


def grant_app_role(role: str, *, using: str = "default", password: str | None = None) -> None:
    """Create the role if missing (LOGIN, no special attributes) and set exactly its rights.

    Refuses (RoleRefused) a role that is a superuser, owns anything here, or belongs to another
    role: it could then switch the triggers off or act as the purger.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise RoleRefused("Database roles exist on PostgreSQL only.")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(
                f"CREATE ROLE {quote(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOREPLICATION NOBYPASSRLS"
            )
        if password is not None:
            cursor.execute(f"ALTER ROLE {quote(role)} PASSWORD %s", [password])
        problems = _role_problems(cursor, role)
        if problems:
            raise RoleRefused(
                f"{role} cannot be the application role: {'; '.join(problems)}. Use a role "
                "that owns nothing and holds no other role."
            )
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
        cursor.execute(f"GRANT CONNECT ON DATABASE {quote(database)} TO {quote(role)}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quote(role)}")
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quote(role)}")
        for table, rights in table_rights().items():
            cursor.execute(f"GRANT {rights} ON {quote(table)} TO {quote(role)}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quote(role)}")
        for function in PURGE_FUNCTIONS:
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {quote(role)}")


def grant_configured_app_role(using: str = "default") -> None:
    """After migrate: re-grant DATABASE_APP_ROLE (if set and existing) on every table."""
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return
    grant_app_role(role, using=using)
