"""seed_demo on a database that is not empty: it refuses, adds alongside with --force, or
leaves it alone; each test starts from an empty database (the story tests share one seeding,
in test_seed_demo.py)."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from guardian.conf import settings as guardian_settings

from audit.services.ledger import verify_ledger
from oversight.demo import SYSTEM_SLUG, demo_id
from oversight.models import AISystem, Case, JudgementPoint
from tests.factories import AISystemFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows of every model of the three apps (history tables included), users and roles."""
    counts = {
        model._meta.label: model.objects.count()
        for app_label in ("oversight", "literacy", "audit")
        for model in apps.get_app_config(app_label).get_models()
    }
    counts["users"] = User.objects.count()
    counts["user roles"] = User.groups.through.objects.count()
    return counts


@pytest.mark.parametrize(
    "make_other_data, named",
    [
        (lambda: UserFactory(username="jane.doe"), "jane.doe"),
        (lambda: AISystemFactory(slug="credit-checker"), "credit-checker"),
    ],
    ids=["other user", "other AI system"],
)
def test_refuses_a_database_holding_other_data_and_changes_nothing(make_other_data, named):
    make_other_data()
    before = row_counts()

    with pytest.raises(CommandError) as refusal:
        seed()

    assert "--force" in str(refusal.value)
    assert named in str(refusal.value)
    assert row_counts() == before


def test_force_adds_the_demo_data_alongside_other_data():
    UserFactory(username="jane.doe")
    AISystemFactory(slug="credit-checker")

    seed("--force")

    assert AISystem.objects.filter(slug=SYSTEM_SLUG).exists()
    assert AISystem.objects.filter(slug="credit-checker").exists()
    assert User.objects.filter(username="jane.doe").exists()
    assert verify_ledger().ok


def test_skip_if_not_demo_leaves_a_database_in_use_alone_without_failing():
    UserFactory(username="jane.doe")
    before = row_counts()

    output = seed("--skip-if-not-demo")

    assert "not loaded" in output
    assert row_counts() == before


def test_guardians_anonymous_user_does_not_count_as_other_data():
    assert User.objects.filter(username=guardian_settings.ANONYMOUS_USER_NAME).exists()

    seed()

    assert AISystem.objects.filter(slug=SYSTEM_SLUG).exists()


def test_a_demo_seeded_before_the_story_keeps_its_configuration(monkeypatch):
    """The story changes a point's threshold and pauses a journey: never on records that were
    there before the run."""
    with monkeypatch.context() as patched:
        patched.setattr("oversight.demo.story._Story.tell", lambda story: None)
        seed()
    before = row_counts()

    output = seed()

    assert "nothing created" in output
    assert row_counts() == before
    point = JudgementPoint.objects.get(journey__slug="refunds", slug="low-confidence")
    assert point.version == 1
    assert not Case.objects.filter(id=demo_id("story:marker")).exists()
