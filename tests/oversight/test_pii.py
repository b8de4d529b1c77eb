"""The server's own judge for personal data in a proposal."""

import pytest

from oversight.services.pii import find_pii, find_pii_in, iban_valid, luhn_valid


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Write to jane.doe@example.com for details", ["email"]),
        ("Call us on +44 20 7946 0958", ["phone_number"]),
        ("Call 020 7946 0958", ["phone_number"]),
        ("Ring 555-123-4567", ["phone_number"]),
        ("Paid to GB82 WEST 1234 5698 7654 32", ["iban"]),
        ("Paid to DE89370400440532013000", ["iban"]),
        ("Card 4111 1111 1111 1111 was charged", ["card_number"]),
        ("Card 4111-1111-1111-1111", ["card_number"]),
        # Look-alikes that are not personal data:
        ("Order 4111 1111 1111 1112 shipped", []),  # fails Luhn
        ("Paid to GB82 WEST 1234 5698 7654 33", []),  # fails mod-97
        ("Refund of 1,250.00 EUR for order A-10023 on 2026-03-03", []),
        ("Reference 12345678", []),
        ("Your appointment is on 03/03/2026 at 10:00", []),
    ],
)
def test_finds_personal_data_and_ignores_look_alikes(text, kinds):
    assert find_pii(text) == kinds


def test_searches_every_text_in_a_nested_proposal():
    proposal = {"reply": "Done.", "notes": ["card 4111 1111 1111 1111"], "to": {"e": "a@b.co"}}
    assert sorted(find_pii_in(proposal)) == ["card_number", "email"]


def test_checksums():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB00 WEST 1234 5698 7654 32")


def test_mask_pii_replaces_each_piece_of_personal_data_by_its_kind():
    from oversight.services.pii import mask_pii

    text = (
        "Mail jo@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111, "
        "IBAN GB82 WEST 1234 5698 7654 32. Order A-10023 of 2026-03-03 for 120.00 EUR."
    )
    assert mask_pii(text) == (
        "Mail [email] or call [phone_number]; card [card_number], "
        "IBAN [iban]. Order A-10023 of 2026-03-03 for 120.00 EUR."
    )
    assert mask_pii("Nothing personal here, order 12345.") == "Nothing personal here, order 12345."
