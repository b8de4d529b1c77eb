"""The only way a report may load a resource: the product's own static files, nothing else.

WeasyPrint's default fetcher reads `file://` paths and the network, so a report that printed a
`<img src="file:///etc/passwd">` or a cloud metadata URL supplied by an AI system would leak
them into the PDF. Report templates escape such text, and this fetcher is the second wall: it
serves a URL only if it names a file under STATIC_URL that the staticfiles finders locate inside
the project's own static directories, and refuses everything else with a ValueError (WeasyPrint
logs it and leaves the resource out).

Documents are rendered with `BASE_URL`, an origin under the reserved `.invalid` top-level domain
(RFC 2606), so relative URLs resolve to an address that names no file and no host, and the
fetcher maps that origin back to the static files.
"""

import mimetypes
import posixpath
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from weasyprint.urls import URLFetcher, URLFetcherResponse

REPORT_ORIGIN = "https://reports.hitl-oversight.invalid"
BASE_URL = f"{REPORT_ORIGIN}/"


def _static_prefix() -> str:
    """STATIC_URL's path, with leading and trailing slash ("/static/")."""
    path = urlsplit(settings.STATIC_URL).path
    return "/" + path.strip("/") + "/"


def _allowed_roots() -> list[Path]:
    """STATICFILES_DIRS and the `static/` folders of the project's own apps.

    Installed packages' apps (the admin, third parties) live outside the project or inside its
    virtualenv; their files are not ours to print.
    """
    roots = []
    for entry in getattr(settings, "STATICFILES_DIRS", []):
        path = entry[1] if isinstance(entry, tuple | list) else entry
        roots.append(Path(path).resolve())
    project = Path(settings.BASE_DIR).resolve()
    environment = Path(sys.prefix).resolve()
    for app in apps.get_app_configs():
        folder = Path(app.path).resolve() / "static"
        if folder.is_relative_to(project) and not folder.is_relative_to(environment):
            roots.append(folder)
    return roots


def _static_name(url: str) -> str:
    """The static file name a URL asks for, or ValueError if it asks for anything else."""
    if not isinstance(url, str) or not url:
        raise ValueError("Refused an empty URL.")
    if url.startswith(BASE_URL):
        path = url[len(REPORT_ORIGIN) :]
    elif url.startswith("/") and not url.startswith("//"):
        path = url
    else:
        raise ValueError(f"Refused {url[:200]!r}: reports load only the product's static files.")
    path = path.split("#", 1)[0].split("?", 1)[0]
    path = unquote(path)
    prefix = _static_prefix()
    if not path.startswith(prefix):
        raise ValueError(f"Refused {url[:200]!r}: not under {prefix}.")
    name = path[len(prefix) :]
    segments = name.split("/")
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or any(segment in ("", ".", "..") for segment in segments)
        or posixpath.normpath(name) != name
    ):
        raise ValueError(f"Refused {url[:200]!r}: not a plain static file name.")
    return name


def _static_file(url: str) -> Path:
    """The file on disk a URL names, if it is one of the project's static files."""
    name = _static_name(url)
    try:
        found = finders.find(name)
    except SuspiciousFileOperation as error:
        raise ValueError(f"Refused {url[:200]!r}: {error}") from error
    if not found:
        raise ValueError(f"Refused {url[:200]!r}: no such static file.")
    path = Path(found).resolve()
    if not path.is_file() or not any(path.is_relative_to(root) for root in _allowed_roots()):
        raise ValueError(f"Refused {url[:200]!r}: outside the product's static files.")
    return path


class StaticFilesURLFetcher(URLFetcher):
    """A WeasyPrint 70 URL fetcher that serves the project's static files and nothing else.

    Subclasses `URLFetcher` (the class WeasyPrint's `fetch()` expects); `fetch` never reaches
    urllib, so no protocol handler is ever used.
    """

    def __init__(self, timeout=10, ssl_context=None, **kwargs):
        super().__init__(
            timeout=timeout,
            ssl_context=ssl_context,
            allowed_protocols=(),
            allow_redirects=False,
            fail_on_errors=False,
        )

    def fetch(self, url, headers=None) -> URLFetcherResponse:
        path = _static_file(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return URLFetcherResponse(
            url=url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def safe_url_fetcher(url, timeout=10, ssl_context=None) -> URLFetcherResponse:
    """Serve `url` if it names one of the project's static files; else raise ValueError.

    Usable as WeasyPrint's `url_fetcher` too, though `render_report` passes a
    `StaticFilesURLFetcher` instance.
    """
    return StaticFilesURLFetcher(timeout=timeout, ssl_context=ssl_context).fetch(url)


# WeasyPrint 70's fetch() reads this attribute off whatever fetcher it was given.
safe_url_fetcher._fail_on_errors = False
