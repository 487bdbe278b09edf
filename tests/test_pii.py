"""townsquare.text.pii: what must be found, what must not, in English and Chinese posts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from townsquare.text import PiiSpan, cn_id_valid, find_pii, find_pii_many, luhn_valid, redact, redact_many

DATASETS = Path(os.environ.get("TOWNSQUARE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def kinds_and_texts(text: str) -> list[tuple[str, str]]:
    return [(span.kind, span.text) for span in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # e-mail
        ("write to jane.doe+news@example.co.uk today", [("email", "jane.doe+news@example.co.uk")]),
        ("邮箱zhang.san@example.com.cn谢谢", [("email", "zhang.san@example.com.cn")]),
        # phones: mainland China mobiles, bare, grouped, with country code, glued to Chinese, full-width
        ("电话13800138000", [("phone", "13800138000")]),
        ("手机：138 0013 8000，或 139-1234-5678", [("phone", "138 0013 8000"), ("phone", "139-1234-5678")]),
        ("+86 13912345678 / 8613912345678 / 0086 13912345678",
         [("phone", "+86 13912345678"), ("phone", "8613912345678"), ("phone", "0086 13912345678")]),
        ("微信同号１３８００１３８０００", [("phone", "１３８００１３８０００")]),
        ("座机 010-62345678 或 0755-8123456", [("phone", "010-62345678"), ("phone", "0755-8123456")]),
        # phones: North America and international
        ("call (212) 555-0123 or 1-800-555-0199", [("phone", "(212) 555-0123"), ("phone", "1-800-555-0199")]),
        ("ring +44 20 7946 0958 or +49 30 1234567", [("phone", "+44 20 7946 0958"), ("phone", "+49 30 1234567")]),
        # resident ID numbers (valid province, date of birth and check character)
        ("身份证号11010519491231002X", [("cn_id", "11010519491231002X")]),
        ("ID 44030419900307123x and 110101200002290018", [("cn_id", "44030419900307123x"), ("cn_id", "110101200002290018")]),
        # payment cards (known prefix + Luhn), bare or grouped
        ("card 4111 1111 1111 1111 exp 12/27", [("card", "4111 1111 1111 1111")]),
        ("卡号6200000000000005，Amex 3782-822463-10005", [("card", "6200000000000005"), ("card", "3782-822463-10005")]),
        ("mc 5555555555554444 visa 4012-8888-8888-1881", [("card", "5555555555554444"), ("card", "4012-8888-8888-1881")]),
        # IP addresses
        ("from 192.168.1.20 and 2001:db8::8a2e:370:7334.", [("ip", "192.168.1.20"), ("ip", "2001:db8::8a2e:370:7334")]),
        ("IP地址10.0.0.1", [("ip", "10.0.0.1")]),
        ("admin at http://10.0.0.1/login", [("ip", "10.0.0.1")]),  # the host of a URL is still an address
    ],
)
def test_finds(text, expected):
    assert kinds_and_texts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Only $1,299.99 until 2024-05-01 at 10:30, over 1,000,000 views!",
        "12/31/2023 — order #123456789012, invoice 2023-0042-17",
        "https://twitter.com/acme/status/1529384756102938475 is the thread",  # tweet id in a URL
        "tweet id 1529384756102938475 and timestamp 1700000000123 and 1700000000",
        "ISBN 978-3-16-148410-0, version 10.5.3, score 3:1:2 at 12:30:45",
        "card 4111 1111 1111 1112",  # Luhn fails
        "1234 5678 9012 3452",  # Luhn passes but no card network starts with 1
        "110105194912310021 is a wrong check digit",
        "110101190002290011 (1900 was no leap year)",
        "990101199001010019 (no province 99)",
        "110101209901010017 (born in 2099)",
        "12345678901 starts with 12, no mobile",
        "2125550123 bare ten digits might be an account number",
        "999.1.1.1 and 1.2.3 and 256.1.1.1 are not addresses",
        "在2021年06月17日16:00更新，共计10万枚兑换码，价格￥1999.00",
        "std::vector and a::b and ::1",
    ],
)
def test_does_not_find(text):
    assert find_pii(text) == []


def test_spans_index_the_text():
    text = "联系 13800138000，邮箱 a@b.cn"
    for span in find_pii(text):
        assert isinstance(span, PiiSpan)
        assert text[span.start : span.end] == span.text


def test_redact():
    text = "Call me at +1 212-555-0199 or mail jane@example.com; ID 11010519491231002X."
    assert redact(text) == "Call me at [phone] or mail [email]; ID [cn_id]."
    assert redact(text, "***") == "Call me at *** or mail ***; ID ***."
    assert redact(text, kinds=["email"]) == "Call me at +1 212-555-0199 or mail [email]; ID 11010519491231002X."
    assert redact("nothing personal here") == "nothing personal here"
    with pytest.raises(ValueError, match="unknown PII kinds"):
        redact(text, kinds=["ssn"])


def test_batch_forms():
    texts = ["电话13800138000", "no pii", "mail a@b.com"]
    assert find_pii_many(texts) == [find_pii(t) for t in texts]
    assert redact_many(texts) == ["电话[phone]", "no pii", "mail [email]"]


def test_checksums():
    assert cn_id_valid("11010519491231002X") and cn_id_valid("11010519491231002x")
    assert not cn_id_valid("110105194912310020") and not cn_id_valid("1101051949123100")
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005") and luhn_valid("0")
    assert not luhn_valid("4111111111111112")


@pytest.mark.skipif(not (DATASETS / "chnsenticorp").is_dir(), reason=f"ChnSentiCorp not found under {DATASETS} (set TOWNSQUARE_DATASETS)")
def test_real_reviews():
    """Real reviews: the phone numbers and e-mails people left are found; redacted text has no digit run left."""
    rows = (DATASETS / "chnsenticorp" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    texts = [row.split("\t", 1)[1] for row in rows]
    spans = [span for found in find_pii_many(texts) for span in found]
    kinds = {span.kind for span in spans}
    assert {"phone", "email"} <= kinds and "card" not in kinds and "cn_id" not in kinds
    assert all(sum(c.isdigit() for c in s.text) >= 10 for s in spans if s.kind == "phone")
