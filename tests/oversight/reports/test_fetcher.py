"""The reports' URL fetcher: the product's own static files, and nothing else, ever."""

import io
from urllib.parse import urljoin

import pypdf
import pytest
import weasyprint

from oversight.reports.fetcher import BASE_URL, StaticFilesURLFetcher, safe_url_fetcher

REFUSED = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "http://169.254.169.254/",
    "http://169.254.169.254/latest/meta-data/",
    "https://example.com/static/reports/report.css",
    "//example.com/static/reports/report.css",
    "data:text/css,body{color:red}",
    "/static/../../etc/passwd",
    "/static/reports/../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/reports/..%2f..%2f..%2fetc/passwd",
    "/static//etc/passwd",
    "/static/",
    "/etc/passwd",
    "/media/training-evidence/2026/01/certificate.pdf",
    "/static/reports/no-such-file.css",
    "/static/admin/css/base.css",  # Django's admin: installed package, not the product's own
    f"{BASE_URL}etc/passwd",
    urljoin(BASE_URL, "../../../etc/passwd"),
    "",
]


@pytest.mark.parametrize("url", REFUSED)
def test_anything_but_the_products_static_files_is_refused(url):
    with pytest.raises(ValueError, match="Refused"):
        safe_url_fetcher(url)


@pytest.mark.parametrize(
    "url", ["/static/reports/report.css", f"{BASE_URL}static/reports/report.css"]
)
def test_the_report_stylesheet_is_served(url):
    response = safe_url_fetcher(url)

    assert response.content_type == "text/css"
    assert response.charset == "utf-8"
    assert response.read().startswith(b"/* HITL Oversight: print stylesheet")
    response.close()


def test_relative_urls_resolve_to_the_reserved_origin_never_to_a_file_path():
    assert BASE_URL.startswith("https://") and ".invalid/" in BASE_URL
    assert urljoin(BASE_URL, "/static/reports/report.css") == (
        f"{BASE_URL}static/reports/report.css"
    )
    assert not urljoin(BASE_URL, "../etc/passwd").startswith("file:")


def test_weasyprint_asks_the_fetcher_and_gets_only_the_stylesheet(monkeypatch):
    """Markup that did reach WeasyPrint unescaped still loads nothing but our static files."""
    calls = []
    fetch = StaticFilesURLFetcher.fetch

    def spy(self, url, headers=None):
        try:
            response = fetch(self, url, headers)
        except ValueError:
            calls.append((url, "refused"))
            raise
        calls.append((url, "served"))
        return response

    monkeypatch.setattr(StaticFilesURLFetcher, "fetch", spy)
    html = (
        '<link rel="stylesheet" href="/static/reports/report.css">'
        '<p>Hello</p><img src="file:///etc/passwd">'
        '<img src="http://169.254.169.254/latest/meta-data/">'
        '<img src="../../../../etc/passwd">'
        '<div style="background: url(data:image/png;base64,iVBORw0KGgo=)"></div>'
    )

    pdf = weasyprint.HTML(
        string=html, base_url=BASE_URL, url_fetcher=StaticFilesURLFetcher()
    ).write_pdf()

    assert calls[0] == (f"{BASE_URL}static/reports/report.css", "served")
    assert sorted(calls[1:]) == sorted(
        [
            ("file:///etc/passwd", "refused"),
            ("http://169.254.169.254/latest/meta-data/", "refused"),
            (f"{BASE_URL}etc/passwd", "refused"),
            ("data:image/png;base64,iVBORw0KGgo=", "refused"),
        ]
    )
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    resources = page["/Resources"]
    assert "/XObject" not in resources or not any(
        xobject.get_object()["/Subtype"] == "/Image" for xobject in resources["/XObject"].values()
    )


def test_the_function_form_can_be_given_to_weasyprint_too():
    pdf = weasyprint.HTML(
        string='<img src="file:///etc/passwd"><p>x</p>',
        base_url=BASE_URL,
        url_fetcher=safe_url_fetcher,
    ).write_pdf()

    assert pdf.startswith(b"%PDF")
