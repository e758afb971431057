"""A customer's phone number for Zalo (issue #16): every way Vietnamese people write a mobile number is
one E.164 number; what no Zalo message could reach is refused with a sentence saying what is accepted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain import phones
from chalicelib.domain.models import CommentIn, ErasureQuery

SECRET = "s" * 32


@pytest.mark.parametrize(
    "typed",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84 912 345 678",
        "+84912345678",
        "84912345678",
        "0084 912 345 678",
        "(+84) 0912 345 678",
        "\u00a00912\u00a0345\u00a0678 ",
    ],
)
def test_the_ways_people_write_one_mobile_number_are_one_number(typed: str) -> None:
    assert phones.normalize(typed) == "+84912345678"


def test_an_old_eleven_digit_mobile_is_renumbered_as_the_networks_did_in_2018() -> None:
    assert phones.normalize("0168 123 4567") == "+84381234567"
    assert phones.normalize("0120 123 4567") == "+84701234567"
    assert phones.normalize("+84 199 123 4567") == "+84591234567"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "028 3822 1234",  # a Ho Chi Minh City landline: no Zalo account behind it
        "+1 415 555 0100",
        "+8491234567",  # a digit short
        "09123456789",  # a digit too many
        "0112345678",
        "0912345678x",
        "٠٩١٢٣٤٥٦٧٨",  # Arabic-Indic digits pass str.isdigit, not the rule
        "0" * 40,
    ],
)
def test_numbers_no_zalo_message_could_reach_are_refused_with_what_is_accepted(typed: str) -> None:
    with pytest.raises(ValueError, match="Vietnamese mobile number"):
        phones.normalize(typed)


def test_the_hash_is_the_same_however_the_number_was_typed_and_keyed_by_the_secret() -> None:
    one = phones.phone_hash(SECRET, phones.normalize("0912 345 678"))
    assert one == phones.phone_hash(SECRET, phones.normalize("+84912345678"))
    assert one != phones.phone_hash("t" * 32, "+84912345678")
    assert "912345678" not in one


def test_zalo_takes_the_number_without_the_plus_and_owners_see_it_masked() -> None:
    assert phones.zalo_format("+84912345678") == "84912345678"
    assert phones.masked("+84912345678") == "+84 91x xxx 678"


def test_the_comment_api_stores_the_number_in_e164_and_refuses_a_landline_by_field() -> None:
    assert CommentIn(edit_token="t", phone="0912 345 678", consent=True).phone == "+84912345678"
    with pytest.raises(ValidationError) as refused:
        CommentIn(edit_token="t", phone="028 3822 1234", consent=True)
    assert refused.value.errors()[0]["loc"] == ("phone",)


def test_erasure_names_exactly_one_person_by_email_or_phone() -> None:
    assert ErasureQuery(phone="0912345678").phone == "+84912345678"
    assert ErasureQuery(email="a@example.com").email == "a@example.com"
    for both_or_none in ({}, {"email": "a@example.com", "phone": "0912345678"}):
        with pytest.raises(ValidationError):
            ErasureQuery(**both_or_none)
