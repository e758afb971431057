"""The comment topic tagger's rules, as an owner reading tagged comments relies on them (issue #15).

Accuracy over many comments is bench/topics.py's job; these pin the behaviours one by one.
"""

from __future__ import annotations

import pytest

from chalicelib.domain.models import MAX_COMMENT_CHARS
from chalicelib.domain.topics import MAX_CHARS, TOPICS, Tagged, tag


def test_the_taxonomy_keys_are_exactly_the_product_contracts() -> None:
    assert TOPICS == (
        "wait", "food_drink", "staff", "price", "cleanliness", "atmosphere", "parking", "payment", "delivery",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("with_marks", "without_marks"),
    [
        ("Chờ lâu quá, đồ ăn nguội", "cho lau qua, do an nguoi"),
        ("Nhân viên thái độ cọc cằn", "nhan vien thai do coc can"),
        ("Giá hơi đắt, bãi giữ xe chật", "gia hoi dat, bai giu xe chat"),
        ("Nhà vệ sinh bẩn quá", "nha ve sinh ban qua"),
        ("Đợi lâu mà không được xin lỗi", "doi lau ma khong duoc xin loi"),
    ],
)
def test_a_comment_typed_without_diacritics_gets_the_same_topics_and_polarity(
    with_marks: str, without_marks: str
) -> None:
    assert tag(with_marks) == tag(without_marks)
    assert tag(with_marks).topics  # and both name something, not two empty answers


def test_capitals_and_letters_repeated_for_emphasis_read_as_the_plain_word() -> None:
    assert tag("NGONNNN QUÁAAA") == tag("ngon quá")
    assert tag("ngonnnn quaaa").polarity == "positive"
    assert tag("soooo slowwww").topics == ("wait",)


def test_a_long_wait_is_tagged_wait_and_negative() -> None:
    assert tag("chờ lâu quá") == Tagged(("wait",), "negative")
    assert tag("đợi 30p mới có món").polarity == "negative"
    assert "wait" in tag("waited 40 minutes for a sandwich").topics


def test_negation_flips_the_polarity_but_keeps_the_topic() -> None:
    assert tag("không chờ lâu") == Tagged(("wait",), "positive")
    assert tag("ko ngon") == Tagged(("food_drink",), "negative")
    assert tag("chưa bao giờ thất vọng").polarity == "positive"
    assert tag("the staff were not friendly") == Tagged(("staff",), "negative")
    assert tag("not slow at all").polarity == "positive"


def test_negation_stops_at_the_end_of_its_clause() -> None:
    # "không" governs "ngon", not the praise of the price after "nhưng".
    assert tag("đồ ăn không ngon nhưng giá rẻ").polarity == "mixed"


def test_the_space_is_not_read_as_a_negation() -> None:
    # "không gian" (the place's space) starts with the word for "not".
    assert tag("không gian đẹp") == Tagged(("atmosphere",), "positive")


@pytest.mark.parametrize(
    ("teen", "plain"),
    [
        ("nv ko nhiet tinh", "nhân viên không nhiệt tình"),
        ("mon hok ngon", "món không ngon"),
        ("k dc lich su", "không được lịch sự"),
        ("nv đc", "nhân viên được"),
    ],
)
def test_teen_code_reads_like_the_words_it_stands_for(teen: str, plain: str) -> None:
    assert tag(teen) == tag(plain)


def test_mixed_vietnamese_and_english_in_one_comment() -> None:
    assert tag("food ngon nhưng delivery chậm") == Tagged(("food_drink", "delivery"), "mixed")
    assert tag("staff thân thiện, price ok") == Tagged(("staff", "price"), "positive")


def test_praise_then_but_another_topic_is_mixed() -> None:
    assert tag("quán view đẹp nhưng toilet dơ").polarity == "mixed"


def test_emoji_alone_carry_the_mood_without_a_topic() -> None:
    assert tag("👍") == Tagged((), "positive")
    assert tag("😡😡") == Tagged((), "negative")
    assert tag("ngon 😍").polarity == "positive"
    assert tag("phục vụ chậm 😤").polarity == "negative"


def test_a_word_with_two_senses_is_read_from_its_neighbours() -> None:
    # Folded, "bàn" (table) and "bẩn" (dirty) are both "ban", "lẩu" and "lâu" both "lau".
    assert "cleanliness" not in tag("đặt bàn cho 6 người").topics
    assert "cleanliness" in tag("bàn bẩn quá").topics
    assert "wait" not in tag("quán mở lâu đời").topics
    assert "price" not in tag("đi cùng gia đình").topics
    assert "wait" in tag("lên món lâu quá").topics


def test_waiting_for_a_courier_is_delivery_not_the_shop_floor() -> None:
    assert tag("shipper giao trễ 1 tiếng") == Tagged(("delivery",), "negative")


def test_an_amount_in_thousands_names_the_price() -> None:
    assert "price" in tag("35k ly trà đá mà toàn đá").topics


def test_each_taxonomy_topic_is_found_in_vietnamese_and_english() -> None:
    examples = {
        "wait": ("chờ lâu", "long wait"),
        "food_drink": ("đồ ăn ngon", "delicious food"),
        "staff": ("nhân viên dễ thương", "friendly staff"),
        "price": ("giá rẻ", "overpriced"),
        "cleanliness": ("nhà vệ sinh sạch", "dirty toilet"),
        "atmosphere": ("nhạc hay, không gian đẹp", "too noisy"),
        "parking": ("không có chỗ gửi xe", "no parking"),
        "payment": ("có chuyển khoản", "card payment failed"),
        "delivery": ("shipper giao nhanh", "delivery was late"),
    }
    for topic, (vietnamese, english) in examples.items():
        assert topic in tag(vietnamese).topics, vietnamese
        assert topic in tag(english).topics, english


def test_an_owners_keyword_is_a_custom_topic_matched_like_the_rest() -> None:
    assert tag("cà phê ngon, wifi yếu", ["wifi"]).topics == ("food_drink", "atmosphere", "custom:wifi")
    # case- and diacritics-insensitive, multi-word
    assert "custom:Bánh Flan" in tag("banh flan ngon lam", ["Bánh Flan"]).topics
    assert "custom:Bánh Flan" in tag("BÁNH FLAN hơi ngọt", ["Bánh Flan"]).topics


def test_an_owners_keyword_matches_whole_words_only() -> None:
    assert tag("the pizzeria was fine", ["pizza"]).topics == ()
    assert tag("ngon", ["", "  "]).topics == ("food_drink",)  # blank keywords name nothing


def test_the_tagger_reads_as_far_as_a_stored_comment_can_be_long() -> None:
    assert MAX_CHARS == MAX_COMMENT_CHARS


def test_a_comment_naming_nothing_is_neutral_with_no_topics() -> None:
    assert tag("") == Tagged((), "neutral")
    assert tag("   ") == Tagged((), "neutral")
    assert tag("hôm nay thứ bảy") == Tagged((), "neutral")


def test_the_longest_comment_the_api_accepts_is_tagged_from_all_of_it() -> None:
    filler = "hôm nay đi cùng gia đình, " * 75
    text = "Cà phê ngon. " + filler + " Nhưng không có chỗ gửi xe."
    assert 1950 <= len(text) <= MAX_COMMENT_CHARS
    result = tag(text)
    assert result.topics == ("food_drink", "parking")
    assert result.polarity == "mixed"


def test_a_question_is_not_read_as_a_complaint() -> None:
    assert tag("quán có ship ko ạ") == Tagged(("delivery",), "neutral")
    assert tag("có nhận thẻ không?").polarity == "neutral"
    assert tag("ko nhận thẻ").polarity == "negative"  # the same words, stated, are a complaint
