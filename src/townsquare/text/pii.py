"""Find and redact personal data in posts: e-mails, phone numbers, Chinese resident IDs, card numbers, IPs.

Kinds (`PiiSpan.kind`):
  email   `name@example.com`
  phone   international with a leading `+`/`00` (`+44 20 7946 0958`, 8-15 digits); North-American numbers
          written as phone numbers (`(212) 555-0123`, `212-555-0123`, `+1 212 555 0123`; a bare 10-digit run is
          not taken: it is as often an order or account number); mainland-China mobiles `1[3-9]` + 9 digits, bare or
          3-4-4 with spaces/dashes, optionally after `+86`/`86`/`0086`; mainland landlines with an area code and a
          dash and a local number starting 2-9 (`010-62345678`, `0755-8123456`)
  cn_id   18-character resident identity number: a real province code, a date of birth that exists (1900 to
          today), and the ISO 7064 MOD 11-2 check character (`X` allowed last)
  card    13-19 digits, bare or in groups of four (Amex 4-6-5) separated by single spaces or dashes, with a
          known card-network prefix and a valid Luhn checksum
  ip      IPv4 with octets 0-255 (no leading zeros); IPv6 validated by `ipaddress`, with two or more groups
          and a digit (`fe80::1`, not `::1` or `a::b`)

Digits may be written full-width (`１３８…`): people do, to slip past filters. Numbers inside URLs are not taken
for phones, IDs or cards (tweet and order ids live there); e-mails and IPs inside URLs are still reported.
Overlaps are resolved by priority: url > email > cn_id > card > phone > ip.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from townsquare.text.normalize import EMAIL_PATTERN, URL_PATTERN

KINDS = ("email", "phone", "cn_id", "card", "ip")


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One piece of personal data: `text[start:end]` is `text`, of kind `kind` (see KINDS)."""

    start: int
    end: int
    kind: str
    text: str


_D = "[0-9\uff10-\uff19]"  # ASCII or full-width digit
_DIGITS = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})
_NOT_DIGIT_AFTER = r"(?![0-9\uff10-\uff19])"
_SEP = r"[ \-]"

_ANY_DIGIT_RE = re.compile(r"\d")
_EMAIL_RE = re.compile(EMAIL_PATTERN)
_URL_RE = re.compile(URL_PATTERN)
_CN_ID_RE = re.compile(rf"(?<![0-9\uff10-\uff19A-Za-z]){_D}{{17}}[0-9\uff10-\uff19Xx\uff38](?![0-9\uff10-\uff19A-Za-z])")
_CARD_RE = re.compile(
    rf"(?<![0-9\uff10-\uff19])(?:{_D}{{13,19}}"
    rf"|{_D}{{4}}(?P<s>{_SEP}){_D}{{4}}(?P=s){_D}{{4}}(?:(?P=s){_D}{{1,4}}){{1,2}}"
    rf"|{_D}{{4}}(?P<a>{_SEP}){_D}{{6}}(?P=a){_D}{{4,5}})(?![0-9\uff10-\uff19]|[ \-]{_D})"
)
_PHONE_FORMS = (
    # mainland-China mobile, optional country code
    rf"(?:(?:\+|00)?86[ \-]?)?[1\uff11][3-9\uff13-\uff19]{_D}(?:{_D}{{8}}|{_SEP}{_D}{{4}}{_SEP}{_D}{{4}})",
    # international: + or 00, country code, then digit groups (validated: 8-15 digits in all)
    rf"(?:\+|00)[1-9\uff11-\uff19]{_D}{{0,2}}(?:[ \-.]?\(?{_D}{{1,4}}\)?){{1,6}}",
    # North America: (212) 555-0123, 212-555-0123, 212.555.0123, optional +1 / 1-
    rf"(?:\+?1[ \-.]?)?(?:\([2-9]{_D}{{2}}\)[ ]?|[2-9]{_D}{{2}}[\-. ]){_D}{{3}}[\-. ]{_D}{{4}}",
    # mainland landline with area code and dash
    rf"0[1-9]{_D}{{1,2}}-[2-9]{_D}{{6,7}}",
)
# Chinese glues numbers to words (电话13800138000), so only ASCII letters, digits, + and . may not precede.
_PHONE_RE = re.compile(rf"(?<![A-Za-z0-9\uff10-\uff19+.])(?:{'|'.join(_PHONE_FORMS)}){_NOT_DIGIT_AFTER}")
_IPV4_RE = re.compile(
    r"(?<![A-Za-z0-9.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d|[A-Za-z0-9])"
)
_IPV6_RE = re.compile(r"(?<![A-Za-z0-9_:.])(?:[0-9A-Fa-f]{1,4}|:)?(?::[0-9A-Fa-f]{0,4}){2,7}(?![A-Za-z0-9_:])")

_CN_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Issuer prefixes: Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover 6011/644-649/65, UnionPay 62,
# JCB 3528-3589, Diners 300-305/36/38-39, Maestro 50/56-69 (covers 6xxx).
_CARD_PREFIX_RE = re.compile(r"4|5[0-9]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|35(?:2[89]|[3-8]\d)|30[0-5]|3[689]|6")
_PRIORITY = {"url": 0, "email": 1, "cn_id": 2, "card": 3, "phone": 4, "ip": 5}


def cn_id_valid(number: str) -> bool:
    """True for a well-formed 18-character mainland resident ID: province, date of birth and check character."""
    n = number.translate(_DIGITS).upper().replace("\uff38", "X")
    if len(n) != 18 or not n[:17].isdigit() or n[:2] not in _CN_PROVINCES:
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return False
    total = sum(int(c) * w for c, w in zip(n[:17], _CN_ID_WEIGHTS, strict=True))
    return n[17] == "10X98765432"[total % 11]


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum used by payment cards; `digits` holds digits only."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_valid(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw.translate(_DIGITS))
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX_RE.match(digits)) and luhn_valid(digits)


def _phone_valid(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw.translate(_DIGITS))
    if raw.startswith(("+", "00")):
        digits = digits[2:] if raw.startswith("00") else digits
        return 8 <= len(digits) <= 15 and not raw.rstrip().endswith(("(", "-", "."))
    return 10 <= len(digits) <= 13


def _ipv6_valid(raw: str) -> bool:
    try:
        ipaddress.IPv6Address(raw)
    except ValueError:
        return False
    # `a::b` and `::1` are addresses too, but in posts they are code or emoticons far more often
    return sum(1 for group in raw.split(":") if group) >= 2 and any(c.isdigit() for c in raw)


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[PiiSpan]:
    """Every piece of personal data in `text`, in order, without overlaps (`kinds` narrows the search)."""
    wanted = set(KINDS if kinds is None else kinds)
    if unknown := wanted - set(KINDS):
        raise ValueError(f"unknown PII kinds {sorted(unknown)}; choose from {KINDS}")
    found: list[tuple[int, int, str]] = []
    if "/" in text or "www." in text:
        found += [(m.start(), m.end(), "url") for m in _URL_RE.finditer(text)]
    if "@" in text:
        found += [(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text)]
    if _ANY_DIGIT_RE.search(text):
        found += [(m.start(), m.end(), "cn_id") for m in _CN_ID_RE.finditer(text) if cn_id_valid(m.group())]
        found += [(m.start(), m.end(), "card") for m in _CARD_RE.finditer(text) if _card_valid(m.group())]
        found += [(m.start(), m.end(), "phone") for m in _PHONE_RE.finditer(text) if _phone_valid(m.group())]
        if "." in text:
            found += [(m.start(), m.end(), "ip") for m in _IPV4_RE.finditer(text)]
    if text.count(":") >= 2:
        found += [(m.start(), m.end(), "ip") for m in _IPV6_RE.finditer(text) if _ipv6_valid(m.group())]
    spans: list[PiiSpan] = []
    taken: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(found, key=lambda f: (_PRIORITY[f[2]], f[0])):
        overlapping = [t for t in taken if t[0] < end and start < t[1]]
        if overlapping and not (kind in ("email", "ip") and all(t[2] == "url" for t in overlapping)):
            continue
        taken.append((start, end, kind))
        if kind in wanted:
            spans.append(PiiSpan(start, end, kind, text[start:end]))
    return sorted(spans, key=lambda s: s.start)


def find_pii_many(texts: Sequence[str], kinds: Iterable[str] | None = None) -> list[list[PiiSpan]]:
    """`find_pii` over a batch."""
    kinds = None if kinds is None else tuple(kinds)
    return [find_pii(text, kinds) for text in texts]


def redact(text: str, replacement: str = "[{kind}]", kinds: Iterable[str] | None = None) -> str:
    """`text` with each piece of personal data replaced (`{kind}` in `replacement` names what was there)."""
    parts, last = [], 0
    for span in find_pii(text, kinds):
        parts += [text[last : span.start], replacement.replace("{kind}", span.kind)]
        last = span.end
    return "".join(parts) + text[last:] if parts else text


def redact_many(texts: Sequence[str], replacement: str = "[{kind}]", kinds: Iterable[str] | None = None) -> list[str]:
    """`redact` over a batch."""
    kinds = None if kinds is None else tuple(kinds)
    return [redact(text, replacement, kinds) for text in texts]
