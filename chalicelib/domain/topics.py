"""Topics and polarity of a free-text comment, in Vietnamese (with or without diacritics) and English.

Approach: a hand-written lexicon matched on a normalised token stream, no model. The text is lowercased,
its diacritics folded ("chờ lâu" and "cho lau" become the same tokens; đ becomes d), letters repeated for
emphasis are squeezed ("ngonnnn", "sooo"), and teen-code is expanded ("ko"/"k"/"hok" -> "khong", "dc" ->
"duoc", "nv" -> "nhan vien", "sp" -> "san pham"). Emoji are kept aside as polarity cues. Phrases of one or
more tokens are then matched greedily, longest first, from each position:

- a topic phrase adds its taxonomy key (``wait``, ``food_drink``, ``staff``, ``price``, ``cleanliness``,
  ``atmosphere``, ``parking``, ``payment``, ``delivery``); an owner's keyword found the same way adds
  ``custom:<keyword>``;
- a polarity phrase counts +1 or -1, flipped when a negator ("khong", "chang", "chua", "not", "never",
  "no"...) stands up to three tokens before it in the same clause. Negation flips the cue, never the topic:
  "không chờ lâu" still names ``wait``. Positive and negative cues together make ``mixed``, none ``neutral``.

A few rules on top, each from how customers write: a negator that governs no cue reports something missing
or refused ("ko nhận thẻ", "no soap") and counts as negative, unless it closes a question ("có ship ko ạ");
praise followed by "nhưng"/"but" and another topic is ``mixed``; a stated wait of 10 minutes or more
("doi 20p") is a complaint and an amount like "35k" names the price; waiting for a courier is ``delivery``
alone, not ``wait``. Phrases that hold a cue word in another sense ("hu tieu", "gia dinh") count for nothing.

Folding diacritics merges words ("bẩn" dirty and "bàn" table both become "ban"; "đồ" things and "dơ"
dirty both "do"), so ambiguous words are listed only inside multi-word phrases that settle them ("ban qua",
"do an"); the longest match wins, so "khong gian" (the space, atmosphere) is never read as a negation.

Limits: no syntax, so negation reaches only nearby cues, and sarcasm, comparisons ("better than last
time") and cues about other places are read literally; a word outside the lexicon is invisible; polarity is
of the whole comment, not per topic; a word whose senses fold together and that no neighbour settles (for
instance "on": "ổn" fine or "ồn" noisy) is left out, so some comments lose a cue. Diacritics, when present,
are not used to tell such words apart. The lexicon was written from tests/data/comments_dev.jsonl and
bench/topics.py measures it on a held-out set too. The lexicon is built on the first call, not at import, so
importing this module on the submission path costs a few milliseconds (its code and 5 regexes; no table).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import NamedTuple

TOPICS = ("wait", "food_drink", "staff", "price", "cleanliness", "atmosphere", "parking", "payment", "delivery")
CUSTOM_PREFIX = "custom:"
MAX_CHARS = 2000  # as models.MAX_COMMENT_CHARS (not imported: pydantic is no cheap import); bounds the work


class Tagged(NamedTuple):
    topics: tuple[str, ...]
    polarity: str  # negative | positive | neutral | mixed


# Phrases are written folded (no diacritics), separated by commas; tokens by spaces.
_TOPIC_PHRASES: dict[str, str] = {
    "wait": """
        cho lau, cho qua lau, doi lau, doi qua lau, cho doi, phai cho, phai doi, cho mai, doi mai, lau qua,
        qua lau, lau lam, lau vl, lau vay, hoi lau, rat lau, lau the, lau ghe, lau moi, mat thoi gian, cham,
        cham chap, nhanh, nhanh chong, xep hang, hang dai, ra mon, len mon, mang ra, mang mon, goi mon,
        order lau, phut, tieng dong ho, 1 tieng, mot tieng, nua tieng, doi hoai, cho hoai, doi ca, cho ca,
        wait, waiting, waited, waits, slow, slowly, quick, quickly, fast, queue, queued, line, took forever,
        forever, minutes, mins, min, hour, hours, long time, delay, delayed, prompt, promptly, speedy, cho
        mon moi, lau lac, lau oi la lau, chua co mon, chua ai ra, chua co, phuc vu nhanh, phuc vu
        cham, phuc vu qua cham, phuc vu lau, fast service, quick service, slow service, _long, len do, ra
        do, right away, table ready, hang cho, ready, doi mon moi, doi muon xiu, cho muon xiu, doi muon
        chet, cho muon chet, doi gay co, cho gay co, cho dai co, doi dai co, lau vai, doi cả, waited ages,
        ages, took ages, took so long, so long, too long, long wait, no wait, no waiting, no queue, service
        was slow, served quickly, cho order, cho nuoc, cho do, doi do, doi nuoc, doi mon, cho mon, doi
        ban, cho ban, cho goi mon, wait time, waiting time, took a while, took long, eternity,
    """,
    "food_drink": """
        do an, do uong, thuc an, thuc uong, mon, mon an, mon nay, ngon, nuoc uong, ca phe, cafe, caphe, cf,
        tra sua, sua, banh, banh mi, pho, bun, com, mi, nuong, thit, ga, heo, tom, muc, hai san, rau, trai
        cay, sinh to, nuoc ep, da xay, bia, ruou, nhat, ngot, chua ngot, cay, beo, tanh, thiu, gion, mem,
        khau phan, phan an, suat, chen, thuc don, huong         vi, topping, tran chau, do         uong,
        matcha, latte, capuchino, cappuccino, espresso, bac xiu, nau, den da, food, foods, drink, drinks,
        coffee, tea, milk tea, taste, tastes, tasty, tasteless, delicious, yummy, dish, dishes, meal, meals,
        portion, portions, bland, salty, sweet, sour, spicy, fresh, stale, burger, pizza, noodle, noodles,
        soup, rice, bread, cake, dessert, juice, smoothie, beer, wine, chicken, beef, pork, fish, seafood,
        cold food, undercooked, overcooked, raw, burnt, flavor, flavour, cooked, breakfast, lunch, dinner,
        latte, cappuccino, espresso, cocktail, sandwich, salad, fries, nuoc lau, an lau, lau         thai,
        lau nuong, man qua, qua man, hoi man, nguoi         ngat, do nguoi, mon nguoi, kem, banh ngot, tra
        da, tra dao, tra chanh, ly tra, nuoc cam, nuoc dung, nuoc mia, nuoc ngot, nuoc cham, dia com, nong
        hoi, chuan vi, mat vi, nhieu da, toan da, croissant, soggy, hu tieu, goi cuon, bun cha, thom, chua
        cay, trong ly, trong to, trong mon, trong do an, nem ran, nem nuong, mon moi, thu mon, dam da, beo
        ngay, thom ngon, tuoi ngon, oi thiu, nguoi lanh, chay khet, khet, man chat, nhat nheo, kho an, de
        an, an ngon, uong ngon, ngon mieng, khau vi, hop khau vi, nem nem, gia vi, sot, nuoc sot, sua chua,
        mon chinh, trang mieng, an vat, do nuong, tasted, pastry, steak, pasta, curry, egg, eggs, pancake,
        waffle, iced, too sweet, too salty, lau nam, lau ga, lau bo, lau hai san, lau mam, lau de,
    """,
    "staff": """
        nhan vien, phuc vu, thai do, chu quan, ong chu, ba chu, quan ly, le tan, thu ngan, bartender,
        barista, em nhan vien, ban nhan vien, cac ban, anh nhan vien, chi nhan vien, be nhan vien, bao ve,
        tu van, nhiet tinh, than thien, de thuong, lich su, lich thiep, chu dao, niem no, vui ve, cau cau,
        cau co, khinh khinh, tho lo, hach dich, lam lo, thai do phuc vu, vo le, chuyen nghiep, staff,
        waiter, waiters, waitress, server, servers, service, employee, employees, rude, friendly, attitude,
        manager, owner, polite, helpful, attentive, welcoming, cashier, barista, bartender, team, crew,
        host, hostess, unfriendly, ignored, impolite, smile, smiled, smiling, kind, hon lao, chi chu, anh
        chu, co chu, chu chu, ban phuc vu, ban nu, ban nam, huong dan, mat nang may nhe, lo khach, lam ngo,
        phot lo, cau gat, chui, vo duyen, thieu chuyen nghiep, nhanh nhen, an can, tan tinh, tan tam,
        unprofessional, professional, mat lanh, lam mat lanh,
    """,
    "price": """
        gia, gia ca, gia tien, gia ban, dat qua, hoi dat, dat do, dat xat, re, gia re, hop ly, chat
        chem, chem, dang tien, xung dang, mac, moc tui, phai chang, binh dan, khuyen mai, giam gia, uu
        dai, voucher, combo, nghin, ngan, vnd, price, prices, priced, pricey, expensive, cheap, overpriced,
        value, worth, cost, costs, costly, affordable, reasonable, rip off, ripoff, money, discount,
        promotion, deal, bucks, mac qua, hoi mac, mac vl, qua dat, rat dat, dat vl, dat so voi, dat hon,
        service charge, phu thu, surcharge, _price, gia tang, tang gia, gia mem, gia cao, gia chat, hoi
        chat, tien nao cua nay, dang dong tien, vua tui tien, value for money, worth the money, too much
        money, overcharge,
    """,
    "cleanliness": """
        sach, sach se, ve sinh, nha ve sinh, nha wc, wc, toilet, ban qua, hoi ban, rat ban, ban ban, qua
        ban, ban lam, ban the, ban vl, do qua, hoi do, rat do, qua do, do lam, do bẩn, do ban, ban do, ruoi,
        gian bo, con gian, chuot, toc, soi toc, mui hoi, hoi thoi, boc mui, ban thiu, nhop nhap, rac, lau
        ban, lau chui, don dep, don ban, ly ban, chen ban, muong ban, nhay nhua, day dau, ban tay, clean,
        cleaner, cleanliness, dirty, filthy, hygiene, hygienic, unhygienic, bathroom, restroom, toilets,
        washroom, sticky, cockroach, cockroaches, flies, fly, smell, smelly, stinks, stinky, greasy, dusty,
        hair, messy, spotless, tidy, mess, trash, bugs, bug, rats, mouse, con muoi, muoi dot, nhieu muoi, co
        mui, mui la, dau mo, khan do, khan ban, ghe ban, soap, dinh dau, dinh dau mo, dinh nhop, thom tho,
        mat ve sinh, kien, bui, bui bam, ant, ants, stain, stains, moldy, mold, mould, khan lanh, ly do,
        chen do, dua do,
    """,
    "atmosphere": """
        khong gian, view, nhac, am nhac, on ao, on qua, hoi on, rat on, qua on, on lam, on vl, yen tinh,
        dep, xinh, chill, decor, trang tri, am cung, thoang, thoang mat, mat me, nong nuc, ngot ngat, may
        lanh, dieu hoa, chat choi, chat hep, dong nguoi, dong duc, chen chuc, anh sang, rong, rong
        rai, thoai mai, cho ngoi, ban ghe, vibe, khung canh, ngoai troi, san vuon, atmosphere, ambience,
        ambiance, vibe, vibes, music, noisy, noise, loud, cozy, cosy, quiet, decor, crowded, seating, seats,
        chairs, aircon, air conditioning, stuffy, cramped, space, spacious, interior, lighting, dark,
        comfortable, relaxing, peaceful, beautiful, pretty, lovely place, dong qua, qua dong, hoi dong, rat
        dong, dong khach, cho ngoi chat, chat qua, hoi chat, qua chat, chat nhu nem, nong qua, hoi nong, qua
        nong, nong buc, wifi, o cam, quat, phong lanh, mat ruoi, hut thuoc, khoi thuoc, ban cong, hong gio,
        phong rieng, smoke, smoking, socket, sockets, wifi cham, wifi yeu, mang cham, too hot, so hot, hot
        inside, very hot, khong khi, sang trong, lung linh, check in, song ao, nhac to, may lanh, san
        thuong, cay xanh, aesthetic, instagrammable, bi bach, lanh qua, qua lanh, hoi lanh, lanh buot,
    """,
    "parking": """
        giu xe, gui xe, bai xe, bai giu xe, cho de xe, de xe, dau xe, do xe, cho do xe, bai do, ve xe, xe
        may, xe hoi, o to, oto, dat xe, dong xe, tien xe, phi gui xe, bao ve giu xe, lay xe, dat xe,
        parking, park, parked, car park, parking lot, valet, motorbike, scooter, garage, cong an, bi phat,
        parking ticket, dau o to, dan xe, gui nha dan,
    """,
    "payment": """
        thanh toan, tra tien, chuyen khoan, ck, quet ma, quet qr, ma qr, qr, momo, zalopay, vnpay, quet the,
        the ngan hang, the tin dung, tien mat, hoa don, bill, tinh tien, tinh sai, tinh nham, thoi tien,
        thoi thieu, thoi sai, tien thoi, tien thua, may pos, pos, xuat hoa don, pay, paid, paying, payment,
        payments, card, cards, credit card, cash, receipt, invoice, checkout, charged, overcharged, change,
        tip, tipping, apple pay, contactless, transfer, nhan the, may card, khong nhan the, hoa don vat,
        xuat vat, the check, for the check, chia bill, split the bill, split bill, visa, mastercard, atm, e
        wallet, ewallet, vi dien tu, thanh toan online,
    """,
    "delivery": """
        giao hang, giao, giao toi, giao den, giao tre, giao cham, ship, shipper, ship hang, phi ship, tien
        ship, grab, grabfood, shopeefood, shopee food, baemin, gojek, befood, be food, don hang, dat hang,
        dat online, mang ve, mang di, take away, takeaway, dong goi, goi hang, hop dung, tui, deliver,
        delivered, delivery, courier, driver, rider, order arrived, arrived, packaging, package, packed,
        spilled, spilt, leaked, leaking, take out, takeout, to go, dat do, dat mon, giao do, giao mon, giao
        toi noi, tai xe, foodpanda, uber eats, ubereats, doordash,
    """,
}

# Phrases holding a topic's word in another sense ("gia dinh" family, not "gia" price; "lau doi" long-standing,
# not a long wait): matched like topics so the word is consumed, and name nothing.
_NOT_A_TOPIC = """
    gia dinh, lau doi, xu ly, chat luong, gia su, lau roi, lau lam moi, tu lau, y kien, lau lau, gop y,
"""

_POSITIVE = """
    ngon, ngon lanh, tot, rat tot, tuyet, tuyet voi, xuat sac, hai long, thich, rat thich, ung, on ap, dep,
    xinh, sach, sach se, nhanh, nhanh chong, nhiet tinh, than thien, de thuong, lich su, chu dao, vui ve, niem
    no, chuyen nghiep, re, hop ly, dang tien, xung dang, phai chang, am cung, chill, yen tinh, thoai mai, thoang
    mat, rong rai, se quay lai, quay lai, ung ho, recommend, 10 diem, hoan hao, tuyet cu, dinh     cao, qua da,
    best, good, great, excellent, amazing, awesome, love, loved, lovely, nice, delicious, tasty, yummy,
    friendly, helpful, polite, attentive, clean, spotless, cozy, cosy, quick, fast, prompt, cheap, affordable,
    reasonable, perfect, fantastic, wonderful, enjoyed, enjoy, happy, satisfied, pleasant, beautiful, fresh,
    worth, will come back, come back, thanks, thank you, cam on, xin cam on, thank, welcoming, comfortable,
    relaxing, peaceful, smile, smiling, kind, well done, dinh qua, ngot thanh, vua an, chuan vi, co tam, kheo
    leo, tien loi, tien ghe, rat tien, tien qua, tien lam, free, mien phi, easy, right away, to die for, dung
    hen, day du, thom, de chiu, nhe nhang, mat ruoi, mat me, xin, xin so, 10d, 5 sao, super, nicely, ky, can
    than, hoi gio, ready, nong hoi, tien, khong phai cho, khong phai doi, khong phai cho doi, no wait, no
    waiting, no queue, khong can cho, khong cho lau, served quickly, kha on, cung on, ung y, me, dang thu, nen
    thu, 10 10, dam da, thom ngon, tuoi ngon, ngon mieng, hop khau vi, nhanh nhen, an can, tan tinh, tan tam,
    gia mem, vua tui tien, dang dong tien, sang trong, lung linh, professional, value for money, worth the
    money, beo ngay,
"""
# Phrases that hold a cue word without its sense ("hu tieu" is a noodle, not "hư"; "chat luong" is quality,
# not "chật"): they count for neither side and keep the word from being read alone.
_NEUTRAL = """
    hu tieu, banh ngot, nuoc ngot, gia dinh, lau doi, chua cay, chua ngot, chat luong, tinh tien, tra tien, thoi
    tien, rut tien, thu tien, tien mat, tien ship, tien do an, tien xe, chuyen tien, xin loi, vat va, khong co y
    kien, khong co gi, khong co gop y, khong y kien, nothing to add, no comment, till late, open late, mon moi,
    tam tam, tam duoc, binh thuong, cung duoc, tam on, y kien, gop y,
"""
_NEGATIVE = """
    te, qua te, do te, kem, chan, that vong, buc, buc minh, buc boi, kho chiu, khong hai long, cho lau, cho qua
    lau, doi lau, doi qua lau, lau qua, qua lau, lau lam, lau vl, hoi lau, rat lau, lau the, lau ghe, doi hoai,
    cho hoai, cham, cham chap, dat qua, hoi dat, dat do, dat xat, chat chem, chem, ban qua, hoi ban, rat
    ban, ban ban, qua ban, ban lam, ban the, ban vl, do qua, hoi do, rat do, qua do, do lam, ban thiu, nhop
    nhap, mui hoi, hoi thoi, boc mui, ruoi, gian bo, con gian, chuot, soi toc, on ao, on qua, hoi on, rat on,
    qua on, on lam, on vl, nong nuc, ngot ngat, chat hep, chen chuc, cau cau, cau co, khinh khinh, tho lo, hach
    dich, lam lo, vo le, mat thai do, nhat, tanh, thiu, hu, nguoi ngat, man qua, ngot qua, qua man, qua ngot,
    qua nhat, hoi nhat, nhat nheo, giao tre, giao cham, tinh sai, tinh nham, thoi thieu, thoi sai, tre, sai mon,
    nham mon, thieu mon, quen mon, thieu, do ra, bi do, ko bao gio quay lai, khong quay lai, se khong quay lai,
    lan cuoi, phi tien, mat tien, lua dao, toi te, qua chan, tham hoa, xuong cap, ghe tom, bad, terrible, awful,
    horrible, poor, worst, worse, slow, rude, dirty, filthy, smelly, stinks, stinky, sticky, greasy, expensive,
    overpriced, pricey, rip off, ripoff, bland, stale, cold food, raw, burnt, undercooked, overcooked, salty,
    noisy, loud, cramped, stuffy, crowded, hot, late, wrong, missing, forgot, forgotten, disappointed,
    disappointing, disappointment, unfriendly, ignored, impolite, unhygienic, waited, took forever, forever,
    never again, not coming back, spilled, spilt, leaked, leaking, mess, messy, overcharged, broken, hate,
    hated, annoying, unacceptable, meh, mediocre, complain, complaint, phan nan, ugly, tasteless, mac qua, hoi
    mac, do nguoi, mon nguoi, hon lao, qua dat, rat dat, dat vl, dat so voi, dat hon, lau lac, hoai, vai, loi
    lom, chui the, long ngong, kho khoc, chua le, toan da, nham, lung tung, vat va, chat, chat cung, nguy hiem,
    bung, cancel, lost, kidding, hidden, no soap, no signs, nowhere, only take, mat lanh, coc, tang, khong ai,
    chua ai, chua co, mat vi, nhieu da, nhu nem, soggy, twice, loi, over an hour, an hour, 1 tieng, mot tieng,
    nua tieng, ate my, not so much, just okay, never coming back, wont come back, _long, khong duoc, it com, vai
    lat, hut thuoc, hoi, khong dem, khong chao, cai, khong tuoi, nho xiu, be xiu, kho, cao qua, gia     cao,
    cao, khong dang, dai qua, rac, dau mo, nong qua, khong co, khong nhan, khong thay, doi mai, cho mai, cat co,
    lau oi la lau, mac vl, cockroach, tron truot, no het, bi no, phai doi, phai cho, cho doi, doi muon xiu, cho
    muon xiu, muon xiu, gay co, dai co, took ages, too long, so long, waited ages, bang keo, te hai, do ec, bat
    tien, phien, tuc, toi, oi thiu, nguoi lanh, chay khet, khet, man chat, kho an, mat nang may nhe, lo khach,
    lam ngo, phot lo, cau gat, chui, vo duyen, thieu chuyen nghiep, gia chat, mat ve sinh, bui bam, moldy, mold,
    mould, stain, nhac to, boring, overrated, underwhelming, avoid, waste, inedible, gross, disgusting, sucks,
    unprofessional, nope, overcharge, eternity, took a while, took long, bi bach, lanh qua, qua lanh, lanh buot,
"""

# Standalone tokens rewritten before matching: teen-code and common misspellings, folded.
_TEEN = {
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "hok": "khong",
    "hong": "khong",
    "khg": "khong",
    "kg": "khong",
    "kô": "khong",
    "hem": "khong",
    "hk": "khong",
    "khum": "khong",
    "hum": "khong",
    "kp": "khong phai",
    "dc": "duoc",
    "dk": "duoc",
    "duoc": "duoc",
    "dx": "duoc",
    "đc": "duoc",
    "nv": "nhan vien",
    "nvien": "nhan vien",
    "sp": "san pham",
    "j": "gi",
    "z": "vay",
    "v": "vay",
    "wa": "qua",
    "qa": "qua",
    "ng": "nguoi",
    "bt": "binh thuong",
    "vs": "voi",
    "r": "roi",
    "lun": "luon",
    "ntn": "nhu the nao",
    "mn": "moi nguoi",
    "ms": "moi",
    "ik": "di",
    "oki": "ok",
    "okela": "ok",
    "okay": "ok",
    "oce": "ok",
    "tks": "thanks",
    "thx": "thanks",
    "ty": "thanks",
    "cmon": "cam on",
    "dt": "dien thoai",
    "cf": "ca phe",
    "cafe": "ca phe",
    "caphe": "ca phe",
    "coffe": "coffee",
    "nhiu": "nhieu",
    "iu": "yeu",
    "bik": "biet",
    "bit": "biet",
    "zui": "vui",
    "dzui": "vui",
    "hix": "buon",
    "dont": "dont",
    "didnt": "didnt",
    "qyá": "qua",
}
_NEGATORS = frozenset(
    [
        "khong",
        "chang",
        "cha",
        "chua",
        "dung",
        "not",
        "never",
        "no",
        "dont",
        "didnt",
        "doesnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "cant",
        "couldnt",
        "wont",
        "wouldnt",
        "hardly",
        "nothing",
        "nobody",
        "neither",
        "nor",
        "without",
    ]
)
# A clause ends here: negation does not reach past it ("không ngon nhưng rẻ" -> rẻ is not negated).
_CLAUSE_BREAKS = frozenset(
    ["nhung", "ma", "but", "however", "though", "although", "tuy", "con", "va", "and", ",", ".", "!", "?", ";", ":"]
)
_TOKEN = re.compile(r"[a-z0-9]+|[,.!?;:]")
_AMOUNT = re.compile(r"\d+k")  # "35k": a price in thousands of dong
_MINUTES = re.compile(r"(\d+)(p|ph|phut|min|mins|minutes)")  # "20p", "40mins"
_MINUTE_WORDS = frozenset(("p", "ph", "phut", "min", "mins", "minutes"))
LONG_WAIT_MINUTES = 10  # a stated wait this long reads as a complaint

_POSITIVE_EMOJI = frozenset("😍😊😀😁😄😃😆🙂☺👍❤💕💖💯🥰😋🤤🤩😘👏🎉⭐✨💗💓🌟😻🙌")
_NEGATIVE_EMOJI = frozenset("😡😠🤬👎😤😒😞😢😭💩🤮🤢🙄😩😫😑😕☹🙁😔😓😣😖💔😾🥵")


# first token -> [(phrase length, {phrase tokens: topic or polarity})], longest first: one slice and one
# dict lookup per length tried, whatever the number of phrases sharing a first word.
type _Table[V] = dict[str, list[tuple[int, dict[tuple[str, ...], V]]]]


def _index[V](entries: list[tuple[tuple[str, ...], V]]) -> _Table[V]:
    grouped: dict[str, dict[int, dict[tuple[str, ...], V]]] = {}
    for phrase, value in entries:
        # The first listing of a phrase wins (topics in taxonomy order).
        grouped.setdefault(phrase[0], {}).setdefault(len(phrase), {}).setdefault(phrase, value)
    return {first: sorted(by_length.items(), reverse=True) for first, by_length in grouped.items()}


class _Lexicon(NamedTuple):
    topics: _Table[str]
    polarity: _Table[int]
    vocabulary: frozenset[str]


def _fold(text: str) -> str:
    # Every Vietnamese letter but đ decomposes to an ASCII letter plus marks; what is left outside ASCII
    # (emoji, other scripts) is no token anyway (emoji are read from the original text).
    text = text.lower().replace("đ", "d")
    return unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode("ascii")


def _phrases(spec: str) -> list[tuple[str, ...]]:
    # Written like comments are, then read through the same teen-code map ("ko bao gio" -> "khong bao gio").
    return [tuple(" ".join(_TEEN.get(t, t) for t in _fold(p).split()).split()) for p in spec.split(",") if p.strip()]


@cache
def _lexicon() -> _Lexicon:
    topics: list[tuple[tuple[str, ...], str]] = []
    polarity: list[tuple[tuple[str, ...], int]] = []
    vocabulary: set[str] = set()
    for topic, spec in _TOPIC_PHRASES.items():
        for phrase in _phrases(spec):
            topics.append((phrase, topic))
            vocabulary.update(phrase)
    for phrase in _phrases(_NOT_A_TOPIC):
        topics.append((phrase, ""))
        vocabulary.update(phrase)
    for spec, sign in ((_POSITIVE, 1), (_NEGATIVE, -1), (_NEUTRAL, 0)):
        for phrase in _phrases(spec):
            polarity.append((phrase, sign))
            vocabulary.update(phrase)
    vocabulary.update(_NEGATORS, _CLAUSE_BREAKS)
    return _Lexicon(_index(topics), _index(polarity), frozenset(vocabulary))


_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")


def _squeeze(token: str, vocabulary: frozenset[str]) -> str:
    """Undo letters repeated for emphasis ("ngonnnn", "gooood"), keeping real doubles ("good", "coffee")."""
    if token in vocabulary or token.isdigit():
        return token
    doubled = _RUN3.sub(r"\1\1", token)
    if doubled in vocabulary:
        return doubled
    single = _RUN2.sub(r"\1", token)
    return single if single in vocabulary or single != token else token


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    raw_tokens = _TOKEN.findall(_fold(text).replace("'", "").replace("’", ""))
    for i, raw in enumerate(raw_tokens):
        minutes = _MINUTES.fullmatch(raw) if raw[0].isdigit() else None
        if minutes is None and raw.isdigit() and i + 1 < len(raw_tokens) and raw_tokens[i + 1] in _MINUTE_WORDS:
            minutes = _MINUTES.fullmatch(raw + raw_tokens[i + 1])
        if minutes is not None:
            # A stated duration names the wait; a long one is also a complaint ("doi 20p", "40 minutes").
            out.append("_long" if int(minutes.group(1)) >= LONG_WAIT_MINUTES else "phut")
            continue
        if raw[0].isdigit() and _AMOUNT.fullmatch(raw):
            out.append("_price")
            continue
        out.extend(_word(raw))
    return out


@lru_cache(maxsize=8192)  # words repeat across comments; bounded so a container's memory stays flat
def _word(raw: str) -> tuple[str, ...]:
    token = _squeeze(raw, _lexicon().vocabulary)
    return tuple(_TEEN.get(token, token).split())


def _match[V](tokens: list[str], table: _Table[V]) -> list[tuple[int, int, V]]:
    """Greedy longest-first phrase matches as (start, end, value), not overlapping."""
    found: list[tuple[int, int, V]] = []
    i, n = 0, len(tokens)
    while i < n:
        for length, phrases in table.get(tokens[i], ()):
            value = phrases.get(tuple(tokens[i : i + length]))
            if value is not None:
                found.append((i, i + length, value))
                i += length
                break
        else:
            i += 1
    return found


def _negator_of(tokens: list[str], start: int, shielded: set[int]) -> int | None:
    """The index of the negator governing the cue at ``start``: up to three tokens before, same clause."""
    for j in range(start - 1, max(-1, start - 4), -1):
        if tokens[j] in _CLAUSE_BREAKS:
            return None
        if tokens[j] in _NEGATORS and j not in shielded:
            return j
    return None


# "có ship ko ạ", "đỗ được ko shop?": a "không" closing the sentence asks, it does not deny.
_QUESTION_TAILS = frozenset(("a", "ah", "shop", "ad", "quan", "vay", "nhi", "?", "chu", "ha"))


def _asks(tokens: list[str], j: int) -> bool:
    return tokens[j] == "khong" and (j + 1 == len(tokens) or tokens[j + 1] in _QUESTION_TAILS)


_CONTRASTS = frozenset(("nhung", "but", "however"))


def _contrasted(tokens: list[str], topic_hits: list[tuple[int, int, str]]) -> bool:
    for j, token in enumerate(tokens):
        if token in _CONTRASTS:
            before = {t for _, end, t in topic_hits if end <= j}
            after = {t for start, _, t in topic_hits if start > j}
            if before and after - before:
                return True
    return False


def _custom_key(keyword: str) -> tuple[tuple[str, ...], str] | None:
    phrase = tuple(_tokens(keyword))
    return (phrase, CUSTOM_PREFIX + keyword.strip()) if phrase else None


def tag(text: str, custom_keywords: Sequence[str] = ()) -> Tagged:
    """The taxonomy topics (then the owner's ``custom:`` keywords) named in ``text``, and its polarity."""
    text = text[:MAX_CHARS]
    lexicon = _lexicon()
    tokens = _tokens(text)

    topic_hits = _match(tokens, lexicon.topics)
    named = {topic for _, _, topic in topic_hits}
    if "delivery" in named:
        named.discard("wait")  # waiting for a courier is the delivery's fault, not the shop floor's
    topics = [t for t in TOPICS if t in named]
    for keyword in custom_keywords:
        custom = _custom_key(keyword)
        if custom is not None and custom[1] not in topics and _match(tokens, _index([custom])):
            topics.append(custom[1])

    # Negators inside a topic phrase ("khong gian", the space) negate nothing.
    shielded = {j for start, end, _ in topic_hits for j in range(start, end) if end - start > 1}
    positive = negative = 0
    cue_starts: set[int] = set()
    governing: set[int] = set()  # negators that some cue answers to
    for start, end, sign in _match(tokens, lexicon.polarity):
        cue_starts.add(start)
        if end - start > 1 and tokens[start] in _NEGATORS:
            governing.add(start)  # the phrase carries its own negation ("khong hai long", "never again")
        else:
            negator = _negator_of(tokens, start, shielded)
            if negator is not None:
                governing.add(negator)
                sign = -sign
        if sign > 0:
            positive += 1
        elif sign < 0:
            negative += 1
    # A negator with no cue after it mostly reports something missing or refused ("ko nhận thẻ", "no soap",
    # "không đưa bill"): a complaint.
    negative += sum(
        1
        for j, token in enumerate(tokens)
        if token in _NEGATORS and j not in shielded and j not in governing and not _asks(tokens, j)
    )
    for char in text:
        if char in _POSITIVE_EMOJI:
            positive += 1
        elif char in _NEGATIVE_EMOJI:
            negative += 1

    if positive and not negative and _contrasted(tokens, topic_hits):
        negative += 1  # "view đẹp nhưng toilet dơ": praise, then "but" and another topic is a complaint
    polarity = "mixed" if positive and negative else "positive" if positive else "negative" if negative else "neutral"
    return Tagged(tuple(topics), polarity)
