"""An automated judge for personal data in a proposal's text.

Finds e-mail addresses, phone numbers, IBANs (mod-97 checked) and payment card numbers (Luhn
checked). Checksums keep order numbers and amounts from being reported as PII.
"""

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International (+44 20 7946 0958) or grouped national numbers (020 7946 0958, 555-123-4567).
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s./-]?)?(?:\(?\d{2,5}\)?[\s./-]?){2,4}\d{2,5}(?!\w)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")

DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
NORTH_AMERICAN = re.compile(r"\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}")

PHONE_MIN_DIGITS = 8
PHONE_MAX_DIGITS = 15


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        checksum += digit
    return checksum % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def pii_spans(text: str) -> list[tuple[int, int, str]]:
    """Where personal data sits in the text: (start, end, kind), in order of position."""
    spans = [(m.start(), m.end(), "email") for m in EMAIL.finditer(text)]
    # Masked copy: once a span is recognised, its digits cannot be taken for another kind.
    masked = text
    for kind, pattern, valid in (
        ("iban", IBAN, lambda m: iban_valid(m.group())),
        (
            "card_number",
            CARD,
            lambda m: 13 <= len(_digits(m.group())) <= 19 and luhn_valid(_digits(m.group())),
        ),
    ):
        source = masked.upper() if kind == "iban" else masked
        for m in pattern.finditer(source):
            if valid(m):
                spans.append((m.start(), m.end(), kind))
                masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
    spans += [
        (m.start(), m.end(), "phone_number")
        for m in PHONE.finditer(masked)
        if _looks_like_phone(m.group())
    ]
    return sorted(spans)


KIND_ORDER = ("email", "iban", "card_number", "phone_number")


def find_pii(text: str) -> list[str]:
    """The kinds of personal data found in the text, e.g. ["email", "card_number"]."""
    kinds = {kind for _, _, kind in pii_spans(text)}
    return [kind for kind in KIND_ORDER if kind in kinds]


def mask_pii(text: str) -> str:
    """The text with each piece of personal data replaced by its kind: "[email]", "[iban]"..."""
    out, position = [], 0
    for start, end, kind in pii_spans(text):
        if start < position:  # overlaps a span already masked
            continue
        out += [text[position:start], f"[{kind}]"]
        position = end
    return "".join(out) + text[position:]


def _looks_like_phone(candidate: str) -> bool:
    """International (+...), trunk-prefixed (0...) or North American (555-123-4567) numbers.

    Dates, amounts and order numbers have other shapes and are left alone.
    """
    candidate = candidate.strip()
    digits = _digits(candidate)
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        return False
    if DATE.fullmatch(candidate):
        return False
    return candidate.startswith(("+", "(", "0")) or bool(NORTH_AMERICAN.fullmatch(candidate))


def texts_in(value) -> Iterable[str]:
    """Every string inside a JSON value (a proposal may be text or a nested object)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)


def find_pii_in(value) -> list[str]:
    kinds: list[str] = []
    for text in texts_in(value):
        for kind in find_pii(text):
            if kind not in kinds:
                kinds.append(kind)
    return kinds
