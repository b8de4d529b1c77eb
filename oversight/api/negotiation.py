"""Content negotiation with DRF's answer for the common Accept headers known in advance.

The API renders JSON only. DRF's DefaultContentNegotiation parses the Accept header and ranks
its media types on every request, about a tenth of a ping's time in DRF, to reach the same
answer for the headers nearly every client sends: none, `*/*` or `application/json`, with no
`?format=` and no format suffix. For those, with a view offering one renderer, DRF's answer is
that renderer and its own media type; it is returned directly. Any other request (another
Accept header, a format asked for, several renderers) goes through DRF unchanged, so a 406 or a
404 for an unknown format is DRF's own (tests/oversight/api/test_negotiation.py compares both).
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_MISSING = object()


class JSONFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and format_suffix is None:
            renderer = renderers[0]
            accept = request.META.get("HTTP_ACCEPT", _MISSING)
            if (accept is _MISSING or accept in ("*/*", renderer.media_type)) and (
                self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            ):
                return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
