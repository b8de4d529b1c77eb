"""Take the admin screenshots the guides show, from the demo data, in Chromium.

    .venv/bin/python docs/screenshots.py [--port 8400] [--keep DIR]

On a throw-away SQLite database in a temporary folder (never the project's db.sqlite3), it
migrates, loads the demo data (`seed_demo`), issues one authority register with its management
command (for the Verify page), starts `runserver` on 127.0.0.1:PORT, signs in as each demo role
with Playwright driving Debian's Chromium (/usr/bin/chromium) and writes the pictures into
docs/images/ (listed in SHOTS below). The reviewer's pictures record real decisions, in the
throw-away database only. The server is stopped at the end, also on failure.

A page that lacks what a picture needs (a button renamed, an empty queue) stops the script with
the picture's name and what was missing, rather than writing a misleading picture.
`--keep DIR` works in DIR instead of a temporary folder and keeps the database there; a later
run with the same DIR reuses it (no migrate and seed: quicker when adjusting a picture).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 900
MAX_HEIGHT = 1800  # a long page is cut here: the guides show its top
COLOURS = 128  # an octree palette keeps text and the status colours, at a third of the size

# Demo logins (printed by seed_demo; demo data only).
PASSWORDS = {
    "reviewer": "demo-reviewer-2026",
    "senior": "demo-senior-2026",
    "manager": "demo-manager-2026",
    "compliance": "demo-compliance-2026",
}

# Every picture this script writes, with the guide that shows it.
SHOTS = {
    "reviewer-index.png": "reviewer-guide.md: the admin home of a reviewer",
    "reviewer-queue.png": "reviewer-guide.md: My queue",
    "decision-screen.png": "reviewer-guide.md: the decision screen of a claimed case",
    "refused-override.png": "reviewer-guide.md: an override the reviewer's level may not make",
    "after-decision.png": "reviewer-guide.md: back in the queue after deciding",
    "decided-case.png": "reviewer-guide.md: a decided case, a senior reviewer's override",
    "manager-journey.png": "authority.md: a journey's page with Pause automation",
    "manager-grant.png": "authority.md: a grant's page with Extend and Revoke",
    "dashboard.png": "compliance-guide.md: the oversight dashboard",
    "compliance-home.png": "compliance-guide.md: the compliance officer's home",
    "report-order.png": "compliance-guide.md: the order form of an oversight report",
    "verify-report.png": "compliance-guide.md: Verify a PDF, with the verdict on a download",
}

# Chosen from the demo data with `manage.py shell`: what the manager grants for the picture of a
# grant with an end (the demo's grants run until revoked, which offer no Extend): the reviewer,
# the lowest level, on a journey the reviewer holds nothing on; the journey of the story's
# pause; a case a senior reviewer decided by modifying the AI's proposal (an override).
PICK_GRANT = """
from django.contrib.auth import get_user_model
from oversight.models import AuthorityLevel, Journey
person = get_user_model().objects.get(username="reviewer")
level = AuthorityLevel.objects.order_by("rank").first()
journey = Journey.objects.get(slug="identity-verification")
print(person.pk, level.pk, journey.pk)
"""
PICK_JOURNEY = """
from oversight.models import Journey
journeys = Journey.objects.order_by("name")
print((journeys.filter(slug__icontains="refund").first() or journeys.first()).pk)
"""
PICK_DECIDED_CASE = """
from oversight.models import Case
cases = Case.objects.filter(status="decided", decisions__reviewer__username="senior",
    decisions__is_override=True, decisions__outcome="modify").order_by("-decided_at", "pk")
print(cases.first().pk)
"""


class Missing(Exception):
    """A page lacks what a picture needs."""


def manage(env: dict, *args: str) -> str:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def shell(env: dict, code: str) -> str:
    return manage(env, "shell", "-v", "0", "-c", code).strip().splitlines()[-1]


def wait_for_server(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server stopped (exit code {server.returncode}).")
        try:
            with urllib.request.urlopen(f"{url}/admin/login/", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"The server did not answer at {url} within {seconds} s.")


def save(page: Page, name: str) -> None:
    """The page from its top, at most MAX_HEIGHT high, in a small palette PNG."""
    assert name in SHOTS, name
    page.wait_for_load_state("load")
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
    out = IMAGES / name
    page.screenshot(
        path=str(out),
        full_page=True,
        clip={"x": 0, "y": 0, "width": WIDTH, "height": height},
        animations="disabled",
    )
    image = Image.open(out).convert("RGB")
    image = image.quantize(
        colors=COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    image.save(out, optimize=True)
    print(f"  wrote docs/images/{name} ({image.width}×{image.height})", flush=True)


def need(page: Page, selector: str, picture: str):
    """The first element matching `selector`, or Missing naming the picture it was for."""
    found = page.locator(selector)
    if found.count() == 0:
        raise Missing(f"{picture}: nothing matches {selector!r} on {page.url}")
    return found.first


class Session:
    """One signed-in person in a browser context of their own."""

    def __init__(self, browser, base: str, username: str):
        self.base = base
        self.context = browser.new_context(
            viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=True
        )
        self.page = self.context.new_page()
        page = self.page
        page.goto(f"{base}/admin/login/?next=/admin/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORDS[username])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("load")
        if "/login/" in page.url:
            raise Missing(f"signing in as {username} failed on {page.url}")

    def open(self, path: str) -> Page:
        self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state("load")
        return self.page

    def close(self) -> None:
        self.context.close()


def reviewer_pictures(browser, base: str) -> None:
    print("As reviewer:", flush=True)
    me = Session(browser, base, "reviewer")
    page = me.open("/admin/")
    save(page, "reviewer-index.png")

    page = me.open("/admin/oversight/case/queue/")
    save(page, "reviewer-queue.png")

    # The first case of the queue, claimed (opening it may already claim it).
    need(page, '#result_list a[href*="/review/"], table a[href*="/review/"]', "decision").click()
    page.wait_for_load_state("load")
    claim = page.locator('input[type="submit"][value="Claim it to decide"]')
    if claim.count():
        claim.first.click()
        page.wait_for_load_state("load")
    need(page, "#decision-form", "decision-screen.png")
    case_url = page.url
    save(page, "decision-screen.png")

    # The reviewer's level may not override: asking to reject is refused, or (where the form
    # offers only what the level allows) the form says why Reject is missing.
    reject = page.locator('#decision-form input[type="radio"][value="reject"]')
    if reject.count():
        reject.first.check()
        page.locator("#decision-form textarea[name=rationale]").fill(
            "The fee was charged correctly: no refund."
        )
        page.locator('#decision-form [type="submit"]').first.click()
        page.wait_for_load_state("load")
    need(page, "#decision-form", "refused-override.png").scroll_into_view_if_needed()
    save(page, "refused-override.png")

    # Approve the proposal: back to the queue, the case gone from the waiting list.
    if "/review/" not in page.url:
        page = me.open(case_url.removeprefix(base))
    need(page, '#decision-form input[type="radio"][value="approve"]', "after-decision.png").check()
    page.locator("#decision-form textarea[name=rationale]").fill(
        "Checked the order: the proposal is right."
    )
    page.locator('#decision-form [type="submit"]').first.click()
    page.wait_for_load_state("load")
    need(page, ".messagelist .success", "after-decision.png")
    save(page, "after-decision.png")
    me.close()


def senior_pictures(browser, base: str, case_id: str) -> None:
    print("As senior:", flush=True)
    me = Session(browser, base, "senior")
    page = me.open(f"/admin/oversight/case/{case_id}/review/")
    need(page, "#history", "decided-case.png")
    save(page, "decided-case.png")
    me.close()


def manager_pictures(browser, base: str, journey_id: str, grant: str) -> None:
    print("As manager:", flush=True)
    me = Session(browser, base, "manager")
    page = me.open(f"/admin/oversight/journey/{journey_id}/change/")
    need(page, ".automation-actions a.button", "manager-journey.png")
    save(page, "manager-journey.png")

    # A grant with an end, given on the Grant form: its page then offers Extend and Revoke.
    person, level, scope = grant.split()
    page = me.open("/admin/oversight/authoritygrant/add/")
    page.get_by_label("Person").select_option(value=person)
    page.get_by_label("Level").select_option(value=level)
    page.get_by_label("Scope").select_option(value=f"journey:{scope}")
    until = datetime.now(UTC) + timedelta(days=90)
    page.get_by_label("Valid until").fill(until.strftime("%Y-%m-%dT09:00"))
    page.get_by_label("Justification").fill("Covers identity checks while the team is short.")
    page.get_by_role("button", name="Grant", exact=True).click()
    page.wait_for_load_state("load")
    buttons = need(page, ".grant-actions", "manager-grant.png")
    for label in ("Extend", "Revoke"):
        if buttons.get_by_role("link", name=label).count() == 0:
            raise Missing(f"manager-grant.png: no {label} button on {page.url}")
    save(page, "manager-grant.png")

    page = me.open("/admin/oversight/dashboard/")
    need(page, "svg", "dashboard.png")
    save(page, "dashboard.png")
    me.close()


def compliance_pictures(browser, base: str, pdf: Path) -> None:
    print("As compliance:", flush=True)
    me = Session(browser, base, "compliance")
    page = me.open("/admin/")
    need(page, ".compliance-home", "compliance-home.png")
    save(page, "compliance-home.png")

    page = me.open("/admin/oversight/reportrequest/order/oversight/")
    need(page, 'input[type="submit"][value="Order this report"]', "report-order.png")
    today = datetime.now(UTC).date()
    page.get_by_label("Period from").fill((today - timedelta(days=29)).isoformat())
    page.get_by_label("Period to").fill(today.isoformat())
    save(page, "report-order.png")

    page = me.open("/admin/oversight/issuedreport/verify/")
    page.locator('input[type="file"]').set_input_files(str(pdf))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("load")
    need(page, ".verdict-ok", "verify-report.png")
    save(page, "verify-report.png")
    me.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8400, help="The demo server's port.")
    parser.add_argument("--keep", metavar="DIR", help="Work in DIR and keep (reuse) its database.")
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium is needed at {CHROMIUM}: apt-get install chromium")

    with tempfile.TemporaryDirectory(prefix="hitl-screenshots-") as tmp:
        work = Path(options.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        seeded = (work / "demo.sqlite3").exists()
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'demo.sqlite3'}", "DEBUG": "1"}
        for name in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "OTP_REQUIRED"):
            env.pop(name, None)

        pdf = work / "authority-register.pdf"
        if not seeded:
            print("Migrating a throw-away database and loading the demo data...", flush=True)
            manage(env, "migrate", "-v", "0")
            manage(env, "seed_demo")
            as_of = datetime.now(UTC).date().isoformat()
            manage(
                env, "authority_report", "--as-of", as_of, "--user", "compliance", "--out", str(pdf)
            )
        grant, journey, case = (
            shell(env, code) for code in (PICK_GRANT, PICK_JOURNEY, PICK_DECIDED_CASE)
        )

        base = f"http://127.0.0.1:{options.port}"
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{options.port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_server(base, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                try:
                    reviewer_pictures(browser, base)
                    senior_pictures(browser, base, case)
                    manager_pictures(browser, base, journey, grant)
                    compliance_pictures(browser, base, pdf)
                except Missing as missing:
                    sys.exit(f"Stopped: {missing}")
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"Done: {len(SHOTS)} pictures in docs/images/.")


if __name__ == "__main__":
    main()
