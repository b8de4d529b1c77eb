"""Render pages of the four PDF reports, made from the demo data, as pictures for the docs.

    .venv/bin/python docs/render_report_pages.py [--keep DIR]

On a throw-away SQLite database in a temporary folder (never the project's db.sqlite3), it
migrates, loads the demo data (`seed_demo`), verifies the audit ledger (`verify_audit`), issues
the oversight report, the authority register, the AI-literacy register and one case dossier
through their real management commands, checks one PDF with `verify_report` (and a copy with
one byte changed, which must be refused), and renders chosen pages with pypdfium2 into
docs/images/reports/. Pages are found by the heading they carry, so the pictures follow the
reports when their length changes.

The demo data is dated relative to today, so the period of the oversight report is the 30 days
ending today. `--keep DIR` also copies the PDFs there (to look at them whole).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images" / "reports"
SCALE = 1.3
COLOURS = 128  # an octree palette keeps text and the small status colours, at a third of the size

# Which picture shows which page: (report, file name, text the page must contain). The first
# page holding the text is taken; None means the first page.
PAGES = [
    ("oversight", "oversight-report-p1.png", None),
    ("oversight", "oversight-report-design.png", "2. Oversight design"),
    ("oversight", "oversight-report-people.png", "3. The people"),
    ("oversight", "oversight-report-activity.png", "Per judgement point"),
    ("oversight", "oversight-report-overrides.png", "7. A sample of overrides"),
    ("oversight", "oversight-report-integrity.png", "9. Log integrity"),
    ("authority", "authority-register.png", None),
    ("literacy", "literacy-register.png", None),
    ("dossier", "case-dossier.png", None),
    ("dossier", "case-dossier-decisions.png", "Decisions"),
    ("dossier", "case-dossier-history.png", "Recorded versions"),
]

# The demo case with the richest history: most decisions, then most recorded versions.
PICK_CASE = """
from oversight.models import Case
def richness(case):
    return (case.decisions.count(), case.history.count(), case.outcomes.count(), str(case.pk))
print(max(Case.objects.all(), key=richness).pk)
"""

# The demo AI system with the most activity (the demo has one: the support assistant).
PICK_SYSTEM = """
from django.db.models import Count
from oversight.models import AISystem
system = AISystem.objects.annotate(n=Count("journeys__cases")).order_by("-n", "slug").first()
print(system.slug)
"""


def manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


def shell(env: dict, code: str) -> str:
    return manage(env, "shell", "-v", "0", "-c", code).stdout.strip().splitlines()[-1]


def page_index(pdf: pdfium.PdfDocument, text: str | None) -> int:
    if text is None:
        return 0
    for index in range(len(pdf)):
        textpage = pdf[index].get_textpage()
        if any(line.strip() == text for line in textpage.get_text_range().splitlines()):
            return index
    sys.exit(f"No page has the heading {text!r}.")


def save_page(pdf: pdfium.PdfDocument, index: int, out: Path) -> None:
    image = pdf[index].render(scale=SCALE).to_pil().convert("RGB")
    image = image.quantize(
        colors=COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    image.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="Also copy the PDFs to this folder.")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hitl-report-pages-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'demo.sqlite3'}"}
        env.pop("DJANGO_SETTINGS_MODULE", None)

        print("Migrating a throw-away database and loading the demo data...", flush=True)
        manage(env, "migrate", "-v", "0")
        manage(env, "seed_demo")
        # As a compliance officer would before issuing evidence (the daily schedule does it in
        # real use): section 9 of the oversight report then shows the latest verification.
        print("\n$ python manage.py verify_audit")
        print(manage(env, "verify_audit").stdout.strip())

        system = shell(env, PICK_SYSTEM)
        case = shell(env, PICK_CASE)
        today = datetime.now(UTC).date()  # the settings default to UTC
        start = today - timedelta(days=29)
        pdfs = {
            kind: work / f"{kind}.pdf" for kind in ("oversight", "authority", "literacy", "dossier")
        }
        commands = {
            "oversight": [
                "oversight_report",
                "--system",
                system,
                "--from",
                start.isoformat(),
                "--to",
                today.isoformat(),
                "--user",
                "compliance",
            ],
            "authority": ["authority_report", "--as-of", today.isoformat(), "--user", "compliance"],
            "literacy": ["literacy_report", "--as-of", today.isoformat(), "--user", "compliance"],
            "dossier": ["case_dossier", case, "--user", "compliance"],
        }
        for kind, args in commands.items():
            args = [*args, "--out", str(pdfs[kind])]
            print(f"\n$ python manage.py {' '.join(args[:-1])} {kind}.pdf")
            print(manage(env, *args).stdout.strip().replace(str(work) + "/", ""))

        print("\n$ python manage.py verify_report oversight.pdf")
        print(
            manage(env, "verify_report", str(pdfs["oversight"]))
            .stdout.strip()
            .replace(str(work) + "/", "")
        )
        altered = work / "altered.pdf"
        content = bytearray(pdfs["oversight"].read_bytes())
        content[len(content) // 2] ^= 0x01  # one bit of one byte
        altered.write_bytes(bytes(content))
        refused = manage(env, "verify_report", str(altered), check=False)
        print("\n$ python manage.py verify_report altered.pdf   # one byte changed")
        print((refused.stdout + refused.stderr).strip().replace(str(work) + "/", ""))
        print(f"(exit status {refused.returncode})")
        if refused.returncode == 0:
            sys.exit("verify_report accepted an altered PDF.")

        IMAGES.mkdir(parents=True, exist_ok=True)
        print()
        documents = {kind: pdfium.PdfDocument(str(path)) for kind, path in pdfs.items()}
        for kind, name, heading in PAGES:
            pdf = documents[kind]
            index = page_index(pdf, heading)
            out = IMAGES / name
            save_page(pdf, index, out)
            print(
                f"{out.relative_to(ROOT)}: {kind} page {index + 1} of {len(pdf)}, "
                f"{out.stat().st_size // 1024} KB"
            )
        for pdf in documents.values():
            pdf.close()

        if options.keep:
            keep = Path(options.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for path in pdfs.values():
                shutil.copy(path, keep / path.name)
            print(f"PDFs copied to {keep}")


if __name__ == "__main__":
    main()
