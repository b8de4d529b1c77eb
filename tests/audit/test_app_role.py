"""The web and worker processes as a role that owns nothing: what it cannot do, and that it works.

The triggers of audit/protection.py stop everyone but a superuser or the tables' owner, who can
switch them off. So the product runs as a role that is neither (`create_app_db_role`): these
tests create it, connect as it with psycopg directly, and show each door shut; then point
Django's own connection at it and run a gate call, a decision and a report.
"""

import datetime
import os
from contextlib import contextmanager

import psycopg
import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, transaction

from audit.database_roles import RoleRefused, grant_app_role
from audit.models import AuditEvent, LedgerHead, PurgeRecord
from audit.purge_sql import PURGER_ROLE
from audit.services.ledger import Actor, append_event, record_event, verify_ledger
from audit.services.retention import purge_expired
from oversight.models import Decision, GateEvaluation, IssuedReport
from oversight.roles import ROLE_PERMISSIONS
from oversight.services.cases import claim_case
from oversight.services.decisions import DecisionInput, decide_case
from oversight.services.gate import GateRequest, ProposedAction, evaluate_gate
from oversight.services.reports import issue_report_now
from tests.factories import CaseFactory, DecisionFactory
from tests.oversight.authority_world import NOW, world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def app_role(postgres_only):
    """A fresh least-privilege role for this test database, dropped afterwards."""
    role = f"hitl_app_test_{os.getpid()}"
    grant_app_role(role)
    yield role
    connection.close()  # in case a test left Django connected as the role
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")


def as_role(role: str, *statements: str) -> str | None:
    """Run statements in one transaction as the role and commit; the error message or None."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, dbname=settings["NAME"], user=role
    ) as conn:
        try:
            with conn.transaction(), conn.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        except psycopg.Error as error:
            return str(error).splitlines()[0]
    return None


@pytest.fixture
def ledger():
    events = [append_event(actor=Actor.system(), action="test.event") for _ in range(3)]
    return events


def unchanged(ledger) -> bool:
    return AuditEvent.objects.count() == len(ledger) and verify_ledger().ok


def test_it_cannot_switch_the_triggers_off(app_role, ledger):
    disable = as_role(app_role, "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
    replica = as_role(app_role, "SET LOCAL session_replication_role = replica")
    purger = as_role(app_role, f"SET ROLE {PURGER_ROLE}")

    assert disable == "must be owner of table audit_auditevent"
    assert replica == 'permission denied to set parameter "session_replication_role"'
    assert purger == f'permission denied to set role "{PURGER_ROLE}"'
    assert unchanged(ledger)


@pytest.mark.parametrize(
    "table", ["audit_auditevent", "audit_ledgerhead", "oversight_decision", "oversight_case"]
)
def test_it_cannot_truncate_evidence(app_role, ledger, table):
    assert as_role(app_role, f"TRUNCATE {table} CASCADE") == f"permission denied for table {table}"
    assert unchanged(ledger)


def test_it_cannot_purge_outside_the_function(app_role, ledger):
    # The issue's bypass, exactly as seen: the GUC is settable, and opens nothing.
    guc = as_role(
        app_role,
        "SELECT set_config('hitl.retention_purge', 'on', true)",
        "DELETE FROM audit_auditevent WHERE sequence > 1",
    )
    gate = as_role(app_role, "DELETE FROM oversight_gateevaluation")
    short = as_role(app_role, "SELECT hitl_purge_ledger(3, 1)")
    young = as_role(app_role, "SELECT hitl_purge_ledger(3, 200)")

    assert guc == "permission denied for table audit_auditevent"
    assert gate == "permission denied for table oversight_gateevaluation"
    assert short == "retention purge refused: 1 days is under the minimum of 183 days"
    assert young == "retention purge refused: events up to #3 are not all older than 200 days"
    assert unchanged(ledger)
    assert not PurgeRecord.objects.exists()


def test_it_cannot_update_or_delete_evidence(app_role, ledger):
    decision = DecisionFactory(rationale="as decided")
    history_rows = decision.history.count()

    refusals = {
        "event": as_role(app_role, "UPDATE audit_auditevent SET action = 'x'"),
        "event delete": as_role(app_role, "DELETE FROM audit_auditevent"),
        "checkpoint": as_role(app_role, "DELETE FROM audit_ledgercheckpoint"),
        "history": as_role(app_role, "UPDATE oversight_historicaldecision SET rationale = 'x'"),
        "decision delete": as_role(app_role, "DELETE FROM oversight_decision"),
        # Allowed by privilege (the product updates live rows), refused at commit: no history.
        "decision": as_role(app_role, "UPDATE oversight_decision SET rationale = 'forged'"),
    }

    assert refusals == {
        "event": "permission denied for table audit_auditevent",
        "event delete": "permission denied for table audit_auditevent",
        "checkpoint": "permission denied for table audit_ledgercheckpoint",
        "history": "permission denied for table oversight_historicaldecision",
        "decision delete": "permission denied for table oversight_decision",
        "decision": f"UPDATE on oversight_decision refused: row {decision.pk} no longer "
        "matches its latest history row",
    }
    assert Decision.objects.get().rationale == "as decided"
    assert decision.history.count() == history_rows
    assert unchanged(ledger)


def test_a_role_that_owns_or_holds_more_is_refused(postgres_only):
    with pytest.raises(RoleRefused, match="it has SUPERUSER"):
        grant_app_role(connection.settings_dict["USER"])


@contextmanager
def django_connected_as(role: str):
    """Point Django's default connection at the role (as DATABASE_URL would in production)."""
    connection.close()
    saved = connection.settings_dict["USER"]
    connection.settings_dict["USER"] = role
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"] = saved


def recreate_role_groups():
    """The role groups come from a data migration; a transactional test's flush removed them."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def test_the_product_works_under_the_role(app_role):
    recreate_role_groups()
    with time_machine.travel(NOW, tick=False):
        w = world()
        case = CaseFactory(journey=w.refunds, required_level=w.reviewer, amount=None)

        with django_connected_as(app_role):
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user")
                assert cursor.fetchone() == (app_role,)
            result = evaluate_gate(
                ai_system=w.assistant,
                request=GateRequest(
                    journey="refunds",
                    action=ProposedAction(type="refund"),
                    signals={"confidence": 0.99},
                    context={"order_id": "A-1"},
                ),
            )
            claim_case(case=case, reviewer=w.manager)
            decision = decide_case(
                case=case, reviewer=w.manager, decision=DecisionInput(outcome="approve")
            )
            issued = issue_report_now(user=None, kind="authority", params={"as_of": "2026-06-01"})
            call_command("checkpoint_ledger", stdout=open(os.devnull, "w"))  # noqa: SIM115
            report = purge_expired(actor=Actor.system("test"), now=NOW + datetime.timedelta(1))
            check = verify_ledger()

    assert GateEvaluation.objects.filter(pk=result.evaluation.pk).exists()
    assert Decision.objects.get(pk=decision.pk).outcome == "approve"
    assert IssuedReport.objects.filter(pk=issued.pk).exists()
    assert (report.ledger_deleted, report.gate_deleted) == (0, 0)
    assert check.ok, check.summary()
    assert check.head_sequence == LedgerHead.objects.get().sequence


def test_migrate_regrants_the_configured_role(app_role, settings):
    from audit.protection import install_protection_after_migrate

    def can(privilege: str, table: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [app_role, table, privilege])
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        cursor.execute(f"REVOKE ALL ON oversight_case FROM {app_role}")
    assert not can("SELECT", "oversight_case")
    settings.DATABASE_APP_ROLE = app_role

    install_protection_after_migrate(sender=None)

    assert can("SELECT", "oversight_case") and can("UPDATE", "oversight_case")
    assert not can("DELETE", "oversight_case")
    assert not can("TRUNCATE", "audit_auditevent")
    assert not can("UPDATE", "audit_auditevent")


def test_under_the_role_a_case_opening_is_sealed_and_other_ledger_updates_are_refused(
    app_role, ledger
):
    """The role may update the ledger's three chain columns only, and the trigger lets only a
    pending event's seal through: the product's own sealing works, nothing else does."""
    pending = as_role(
        app_role,
        "INSERT INTO audit_auditevent (occurred_at, actor_type, actor_id, actor_label, action, "
        "object_type, object_id, payload, prev_hash) VALUES (now(), 'system', '', 'test', "
        "'test.pending', '', '', '{}', '')",
    )
    assert pending is None
    forged = {
        "content": as_role(app_role, "UPDATE audit_auditevent SET action = 'x'"),
        "renumber": as_role(app_role, "UPDATE audit_auditevent SET sequence = sequence + 100"),
    }
    assert forged == {
        "content": "permission denied for table audit_auditevent",
        "renumber": "UPDATE on audit_auditevent refused: its rows are evidence and are never "
        "changed or deleted",
    }

    with django_connected_as(app_role):
        with transaction.atomic():
            event = record_event(actor=Actor.system("test"), action="test.recorded")
        check = verify_ledger()

    assert event.sequence == len(ledger) + 2  # the pending row inserted above was sealed first
    assert not AuditEvent.objects.filter(sequence__isnull=True).exists()
    assert check.ok and check.count == len(ledger) + 2, check.summary()
