"""Settings come from the environment, with safe local defaults and clear failures."""

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from hitl_project.env import (
    DEVELOPMENT_SECRET_KEY,
    database_config,
    env_bool,
    env_int,
    env_list,
    secret_key,
    task_queue_config,
)
from tests.processes import PROJECT_DIR, run_django


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("off", False)],
)
def test_env_bool_reads_common_spellings(raw, expected):
    assert env_bool({"DEBUG": raw}, "DEBUG", default=not expected) is expected


def test_env_bool_uses_default_when_unset():
    assert env_bool({}, "DEBUG", default=True) is True


def test_env_bool_refuses_an_unclear_value():
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a yes/no value"):
        env_bool({"DEBUG": "maybe"}, "DEBUG", default=False)


def test_env_int_refuses_a_non_number():
    with pytest.raises(ImproperlyConfigured, match="Q_WORKERS='two' is not a whole number"):
        env_int({"Q_WORKERS": "two"}, "Q_WORKERS", 2)


def test_env_list_splits_on_commas_and_drops_blanks():
    assert env_list({"ALLOWED_HOSTS": "a.example, b.example,,"}, "ALLOWED_HOSTS", []) == [
        "a.example",
        "b.example",
    ]


def test_secret_key_from_environment_wins():
    assert secret_key({"SECRET_KEY": "s3cret"}, debug=False) == "s3cret"


def test_secret_key_falls_back_to_a_development_key_only_in_debug():
    assert secret_key({}, debug=True) == DEVELOPMENT_SECRET_KEY


def test_missing_secret_key_with_debug_off_is_refused_with_a_clear_message():
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set and DEBUG is off"):
        secret_key({"SECRET_KEY": "  "}, debug=False)


def test_database_defaults_to_sqlite_in_the_project_folder_with_wal():
    config = database_config({}, base_dir=PROJECT_DIR)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(PROJECT_DIR / "db.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_database_url_selects_postgresql():
    config = database_config(
        {"DATABASE_URL": "postgres://app:pw@db.internal:5432/oversight"}, base_dir=PROJECT_DIR
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["NAME"], config["USER"]) == ("db.internal", "oversight", "app")
    assert "transaction_mode" not in config["OPTIONS"]
    assert config["OPTIONS"]["options"] == "-c jit=off"
    assert config["OPTIONS"]["server_side_binding"] is True
    assert config["OPTIONS"]["prepare_threshold"] == 5


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler():
    config = database_config(
        {"DATABASE_URL": "postgres://app@db/oversight", "DATABASE_PREPARED_STATEMENTS": "0"},
        base_dir=PROJECT_DIR,
    )
    assert "server_side_binding" not in config["OPTIONS"]
    assert "prepare_threshold" not in config["OPTIONS"]


def test_postgresql_options_from_the_url_are_kept_after_jit_off():
    config = database_config(
        {"DATABASE_URL": "postgres://app@db/oversight?options=-c%20jit%3Don"},
        base_dir=PROJECT_DIR,
    )
    assert config["OPTIONS"]["options"] == "-c jit=off -c jit=on"


def test_the_database_connection_runs_without_jit(db, postgres_only):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_unreadable_database_url_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL could not be read"):
        database_config({"DATABASE_URL": "nosuchscheme://x"}, base_dir=PROJECT_DIR)


def test_task_queue_uses_the_orm_broker_without_redis_url():
    config = task_queue_config({})
    assert config["orm"] == "default"
    assert "redis" not in config
    assert config["retry"] > config["timeout"]


def test_task_queue_uses_redis_when_redis_url_is_set():
    config = task_queue_config({"REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert config["redis"] == "redis://127.0.0.1:6379/3"
    assert "orm" not in config


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set (SQLite pass)")
def test_configured_redis_broker_answers():
    from django_q.brokers import get_broker

    assert get_broker().ping()


def test_start_up_with_debug_off_and_no_secret_fails_with_a_clear_message():
    result = run_django({"DEBUG": "0"}, "import django; django.setup()")
    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_check_deploy_is_clean_with_production_settings(report_signing_dir):
    from oversight.reports.signing import DEV_CERT_NAME, DEV_KEY_NAME

    production = {
        "DEBUG": "0",
        "SECRET_KEY": "x7Lq2-a-long-random-production-secret-9f3kZp0vR8sT1uW4yB6nD5mC",
        "ALLOWED_HOSTS": "oversight.example.com",
        # Required with DEBUG off (audit.E002): the ledger checkpoint signing key (issue #14).
        "LEDGER_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        # Reports are signed: production names its key and certificate (issue #15).
        "REPORT_SIGNING_KEY_FILE": str(report_signing_dir / DEV_KEY_NAME),
        "REPORT_SIGNING_CERT_FILE": str(report_signing_dir / DEV_CERT_NAME),
    }
    code = (
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    result = run_django(production, code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# G2: connection lifetime and the task queue's settings, from the environment -----------------


def test_connection_lifetime_and_health_checks_come_from_the_environment():
    url = {"DATABASE_URL": "postgres://app@db/oversight"}
    default = database_config(url, base_dir=PROJECT_DIR)
    assert (default["CONN_MAX_AGE"], default["CONN_HEALTH_CHECKS"]) == (60, True)
    tuned = database_config(
        {**url, "DATABASE_CONN_MAX_AGE": "0", "DATABASE_CONN_HEALTH_CHECKS": "off"},
        base_dir=PROJECT_DIR,
    )
    assert (tuned["CONN_MAX_AGE"], tuned["CONN_HEALTH_CHECKS"]) == (0, False)


def test_task_queue_acknowledges_failures_and_retries_only_after_the_timeout():
    config = task_queue_config({"Q_TIMEOUT": "30"})
    assert (config["timeout"], config["retry"]) == (30, 90)
    assert config["ack_failures"] is True
    assert (config["max_attempts"], config["save_limit"]) == (3, 250)


def test_a_task_retry_not_longer_than_the_timeout_is_refused():
    with pytest.raises(ImproperlyConfigured, match="Q_RETRY=300 must exceed Q_TIMEOUT=300"):
        task_queue_config({"Q_TIMEOUT": "300", "Q_RETRY": "300"})
