"""How long importing 10,000 training completions from a CSV file takes, end to end.

    .venv/bin/python benchmarks/literacy_import.py             # or: make bench
    .venv/bin/python benchmarks/literacy_import.py --rows 50000 --database-url postgres://...

What it does, in order:

1. migrates a throw-away SQLite database in a temporary directory (or the database named by
   --database-url, which must be empty and is left as it is);
2. creates 2,000 people, five training modules (version 1 each) and a trainer;
3. writes a CSV file of --rows completions (people x modules x dates, scores 50-100);
4. times a dry run (the admin's preview) and the real import through
   `literacy.services.imports.import_completions_file` (every row checked, saved with its
   history row, one audit event, permissions reconciled for everyone affected);
5. prints both figures and checks that every row and history row is there.

Exit status 0 when the import completed with every row; 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="literacy-import-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_project.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from literacy.models import TrainingCompletion, TrainingModule, TrainingModuleVersion
    from literacy.services.imports import import_completions_file
    from oversight.roles import TRAINER

    call_command("migrate", verbosity=0)
    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"learner{n:05d}") for n in range(args.people)]
    )
    trainer = user_model.objects.create(username="bench-trainer", is_staff=True)
    trainer.groups.add(Group.objects.get(name=TRAINER))
    trainer = user_model.objects.get(pk=trainer.pk)  # fresh permission cache
    slugs = [f"module-{n}" for n in range(5)]
    for slug in slugs:
        module = TrainingModule.objects.create(slug=slug, title=slug.title())
        TrainingModuleVersion.objects.create(
            module=module, version=1, summary="-", published_on=datetime.date(2020, 1, 1)
        )

    lines = ["username,module,version,completed_on,score"]
    first_day = datetime.date(2024, 1, 1)
    for n in range(args.rows):
        person, rest = n % args.people, n // args.people
        slug = slugs[rest % len(slugs)]
        day = first_day + datetime.timedelta(days=rest // len(slugs))
        lines.append(f"learner{person:05d},{slug},1,{day.isoformat()},{50 + n % 51}")
    content = ("\n".join(lines) + "\n").encode()

    started = time.perf_counter()
    preview = import_completions_file(
        content=content, file_format="csv", imported_by=trainer, dry_run=True
    )
    dry_run_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = import_completions_file(content=content, file_format="csv", imported_by=trainer)
    import_seconds = time.perf_counter() - started

    rows = TrainingCompletion.objects.count()
    history = TrainingCompletion.history.count()
    ok = (
        not preview.has_validation_errors()
        and not result.has_errors()
        and not result.has_validation_errors()
        and rows == history == args.rows
    )
    database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    print(f"training import, {args.rows} rows, {args.people} people, {database}")
    print(f"  dry run (preview): {dry_run_seconds:.2f} s")
    print(f"  import:            {import_seconds:.2f} s ({args.rows / import_seconds:,.0f} rows/s)")
    print(f"  rows stored: {rows}, history rows: {history}, all rows imported: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
