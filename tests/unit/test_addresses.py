"""Address variants of one mailbox are one identity for voucher limits and email caps (issue #11 item 4)."""

from __future__ import annotations

import pytest

from chalicelib.domain.addresses import normalize_address


@pytest.mark.parametrize(
    "variant",
    [
        "foobar@gmail.com",
        "Foo.Bar+x@gmail.com",
        "foobar@googlemail.com",
        "F.O.O.B.A.R@GMAIL.COM",
        " foo.bar+vouchers+more@Googlemail.com ",
    ],
)
def test_gmail_variants_of_one_mailbox_are_one_identity(variant: str) -> None:
    assert normalize_address(variant) == "foobar@gmail.com"


def test_a_plus_tag_is_dropped_on_every_domain_but_dots_only_on_gmail() -> None:
    assert normalize_address("Khach+quan@Example.VN") == "khach@example.vn"
    assert normalize_address("khach.hang@example.vn") == "khach.hang@example.vn"
    assert normalize_address("khach.hang@example.vn") != normalize_address("khachhang@example.vn")


def test_different_people_stay_different() -> None:
    assert normalize_address("an@gmail.com") != normalize_address("binh@gmail.com")
    assert normalize_address("an@gmail.com") != normalize_address("an@example.com")


def test_odd_local_parts_keep_an_identity_of_their_own() -> None:
    assert normalize_address("+tag@example.com") == "+tag@example.com"
    assert normalize_address("...@gmail.com") == "...@gmail.com"
    assert normalize_address("not-an-address") == "not-an-address"
