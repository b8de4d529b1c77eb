"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Playwright's own browser download is not available here, so the suite launches the system
Chromium (`apt-get install chromium`). Where it is absent every browser test is skipped with
that reason, which `pytest -ra` prints in the summary, so a run never passes them silently.
"""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
MISSING = "Chromium not installed: apt-get install chromium"
HERE = Path(__file__).parent


def _is_browser_test(item) -> bool:
    return HERE in Path(str(item.fspath)).parents


def pytest_collection_modifyitems(config, items):
    """Browser tests run last (see `orm_beside_playwright`); skipped, saying why, without
    Chromium."""
    browser = [item for item in items if _is_browser_test(item)]
    items[:] = [item for item in items if not _is_browser_test(item)] + browser
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=MISSING)
    for item in browser:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium; the sandbox needs user namespaces a container rarely grants."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*browser_type_launch_args.get("args", []), "--no-sandbox"],
    }


@pytest.fixture(scope="session", autouse=True)
def orm_beside_playwright(request, django_db_blocker):
    """Playwright's sync API keeps an event loop running in this thread from its first use to
    the end of the run, so Django would refuse every ORM call from then on (the test database
    set-up, factories, the report task) as made "from an async context". The tests are plain
    synchronous code; the live server answers the browser in its own thread. Hence the browser
    tests run last, and only from the first of them on is Django told the loop is harmless.

    Django keeps database connections per context, and the running loop makes a new one: the
    connection the browser tests get is not the one the test database was set up with, and
    lacks its snapshot of the migrated data (the role groups, ...) that `serialized_rollback`
    restores after each flush. The snapshot is handed over to it here, on an emptied database:
    what earlier tests left (a flush without the snapshot re-creates some rows under new keys)
    would collide with it.
    """
    import os

    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, connections

    snapshot = getattr(connections[DEFAULT_DB_ALIAS], "_test_serialized_contents", None)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    request.getfixturevalue("playwright")
    beside_the_loop = connections[DEFAULT_DB_ALIAS]
    if snapshot is not None and not hasattr(beside_the_loop, "_test_serialized_contents"):
        # A snapshot exists only once the test database is set up: this flush never reaches
        # another database.
        beside_the_loop._test_serialized_contents = snapshot
        with django_db_blocker.unblock():
            call_command(
                "flush",
                interactive=False,
                inhibit_post_migrate=True,
                reset_sequences=False,
                verbosity=0,
            )
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def no_second_factor(settings):
    """The development setting: sign-in is one step (two-factor is tested in tests/accounts)."""
    settings.OTP_REQUIRED = False


@pytest.fixture
def sign_in(live_server):
    """Sign in through the admin's login form, as a person would."""

    def sign_in(page, username: str, password: str = "correct-horse-battery"):
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        # A reviewer lands on their queue, everyone else on the home page.
        page.wait_for_url(
            lambda url: url.startswith(f"{live_server.url}/admin/") and "/login/" not in url
        )

    return sign_in
