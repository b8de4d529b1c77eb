"""How every datetime without a format of its own prints: the admin's lists and read-only
fields, `{{ moment }}` and `{{ moment|date }}` in templates.

Django's British default ("30 Nov 2026, 3:10 p.m.") leaves the time zone unsaid; evidence
needs it: "30 Nov 2026, 15:10 UTC", in the viewer's zone (Django converts before formatting).
Only output formats change: what the forms accept stays Django's.
"""

DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
