"""Write the corrections (one record per final human decision) as JSON lines, for training and
evaluation. The export is recorded in the audit ledger."""

import contextlib
import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import get_current_timezone, make_aware

from audit.services.ledger import Actor
from oversight.models import AISystem
from oversight.services.corrections import export_corrections


def moment(text: str) -> datetime.datetime:
    """An ISO 8601 time (with a zone, or read in the display time zone) or a date (its start)."""
    try:
        parsed = parse_datetime(text)
        if parsed is None and (day := parse_date(text)):
            parsed = datetime.datetime.combine(day, datetime.time())
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--since {text!r} is not a date or time: use e.g. 2026-11-01.")
    return parsed if parsed.tzinfo else make_aware(parsed, get_current_timezone())


class Command(BaseCommand):
    help = (
        "Export the corrections (AI proposal, the person's final action, override and reason, "
        "masked rationale, outcomes, judgement points and rule versions) as JSON lines."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["jsonl"], default="jsonl")
        parser.add_argument("--since", help="Only decisions taken at or after this date or time.")
        parser.add_argument("--ai-system", help="Only this AI system (its slug).")
        parser.add_argument("--out", help="Write to this file instead of standard output.")

    def handle(self, *args, **options):
        since = moment(options["since"]) if options["since"] else None
        ai_system = None
        if slug := options["ai_system"]:
            ai_system = AISystem.objects.filter(slug=slug).first()
            if ai_system is None:
                raise CommandError(f"No AI system {slug!r}.")
        try:
            target = (
                open(options["out"], "w", encoding="utf-8")  # noqa: SIM115 (closed below)
                if options["out"]
                else contextlib.nullcontext(self.stdout)
            )
        except OSError as error:
            raise CommandError(f"Cannot write {options['out']}: {error.strerror}.") from None
        with target as out:
            records = export_corrections(
                actor=Actor.system("export_corrections"),
                via="command",
                ai_system=ai_system,
                since=since,
            )
            count = 0
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        self.stderr.write(f"{count} corrections exported; the export is in the audit ledger.")
