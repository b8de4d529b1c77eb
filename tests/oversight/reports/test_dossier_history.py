"""The dossier's "What changed" names people and levels and says Yes/No; its SLA line shows
the deadline that was in force and when it was breached (issue #15)."""

import datetime

import pytest
import time_machine

from oversight.services.cases import sweep_cases
from tests.factories import (
    AuthorityLevelFactory,
    CaseFactory,
    GateEvaluationFactory,
    JourneyFactory,
)
from tests.oversight.reports.test_dossier import minutes, render, story, text_of, utc  # noqa: F401

pytestmark = pytest.mark.django_db


def test_what_changed_shows_names_levels_and_yes_no(story):  # noqa: F811 (the fixture)
    with time_machine.travel(minutes(60), tick=False):
        story.irreversible = not story.irreversible
        story.save()
    before, after = ("No", "Yes") if story.irreversible else ("Yes", "No")

    text = text_of(render(story.pk).pdf)

    assert "claimed_by: – → Ada Lovelace (ada)" in text
    assert "required_level: Reviewer → Senior reviewer" in text
    assert f"irreversible: {before} → {after}" in text
    assert str(story.required_level_id) not in "".join(text.split())
    assert "False" not in text and "True" not in text


def test_the_sla_line_shows_the_deadline_missed_and_when(settings):
    settings.TIME_ZONE = "UTC"
    opened = datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC)
    with time_machine.travel(opened, tick=False):
        AuthorityLevelFactory(name="Reviewer", rank=1)
        senior = AuthorityLevelFactory(name="Senior", rank=2)
        case = CaseFactory(
            journey=JourneyFactory(),
            required_level=AuthorityLevelFactory(name="Junior", rank=0),
            opened_at=opened,
            sla_deadline=opened + datetime.timedelta(hours=4),
        )
    assert senior
    with time_machine.travel(opened + datetime.timedelta(hours=4, minutes=5), tick=False):
        assert sweep_cases()["sla_breached"] == 1

    text = text_of(render(case.pk, at=opened + datetime.timedelta(hours=5)).pdf)

    assert (
        "SLA deadline 2026-06-01 16:00:00 UTC · breached: still open at 2026-06-01 16:05:00 UTC; "
        "escalated with a new deadline of 2026-06-01 20:05:00 UTC" in text
    )


def test_an_sla_not_breached_shows_its_deadline_only(story):  # noqa: F811 (the fixture)
    text = text_of(render(story.pk).pdf)

    assert f"SLA deadline {story.sla_deadline:%Y-%m-%d %H:%M:%S} UTC Priority" in text


def test_signals_added_by_the_product_read_yes_no_and_none(db):
    """Seen on the demo dossier: the server's signals printed Python `False` and `[]`."""
    journey = JourneyFactory()
    evaluation = GateEvaluationFactory(
        journey=journey,
        server_signals={
            "irreversible": False,
            "pii_in_proposal": True,
            "missing_context_keys": [],
            "pii_kinds": ["iban"],
        },
    )
    case = CaseFactory(journey=journey, evaluation=evaluation)

    text = text_of(render(case.pk).pdf)

    section = text.split("Signals added by HITL Oversight", 1)[1].split("Claims", 1)[0]
    assert "irreversible No" in section
    assert "pii_in_proposal Yes" in section
    assert "missing_context_keys none" in section
    assert "iban" in section
    assert "False" not in section and "True" not in section and "[]" not in section
