"""townsquare.text.normalize on English and Chinese posts, including real Weibo payloads."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from townsquare.text import extract_entities, extract_entities_many, normalize, normalize_many
from townsquare.text.normalize import clean_unicode, squash_elongations

DATASETS = Path(os.environ.get("TOWNSQUARE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
WEIBO = DATASETS / "platform_samples" / "weibo" / "nonebot_bison"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Check this out https://t.co/AbC123. soooooo good!!!!!!", "Check this out <url>. sooo good!!!"),
        ("RT @AcmeSupport: we fixed it &amp; more #AcmePhone", "RT @user: we fixed it & more #AcmePhone"),
        ("(see http://example.com/a_(b)) ok", "(see <url>) ok"),
        ("Ｈｅｌｌｏ１２３ ＷＯＲＬＤ", "Hello123 WORLD"),
        ("𝐅𝐑𝐄𝐄 𝐆𝐈𝐅𝐓", "FREE GIFT"),  # mathematical bold letters, a spam favourite
        ("zero\u200bwidth\u202e and\x07 bell", "zerowidth and bell"),
        ("  many\n\n  spaces\t here ", "many spaces here"),
        ("hahahahaha 1000000 views 2333333", "hahaha 1000000 views 2333333"),
        ("mail bob@example.com now", "mail bob@example.com now"),  # not a mention; PII is pii.py's job
        ("@alice@mastodon.social thanks!", "@user thanks!"),
        ("cut off \ud83d emoji", "cut off emoji"),  # a lone surrogate from a truncated payload
    ],
)
def test_normalize_english(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("哈哈哈哈哈哈太好笑了！！！！！", "哈哈哈太好笑了！！！"),
        ("＃明日方舟＃ 新活动　开启", "#明日方舟# 新活动 开启"),  # full-width marks and ideographic space folded
        ("看这个http://t.cn/A6abcDe真的好", "看这个 <url> 真的好"),  # a link glued to Chinese ends there
        ("恭喜@黄防护服黄 等10名用户获奖", "恭喜@user 等10名用户获奖"),
        ("RT @user: 这个太棒了 #AcmePhone", "RT @user: 这个太棒了 #AcmePhone"),
        ("我們會議後再說，好嗎？", "我們會議後再說，好嗎？"),  # traditional stays traditional, punctuation stays
        ("我们会议后再说，好吗？", "我们会议后再说，好吗？"),  # and simplified stays simplified
        ("要脑溢血了今天拉满🈵 ❤️❤️❤️❤️❤️ 👨\u200d👩\u200d👧", "要脑溢血了今天拉满🈵 ❤️❤️❤️ 👨\u200d👩\u200d👧"),
    ],
)
def test_normalize_chinese(raw, expected):
    assert normalize(raw) == expected


def test_hashtag_modes():
    text = "#明日方舟##音律联觉#开启 and #AcmePhone真好用"
    assert normalize(text) == text
    assert normalize(text, hashtags="word") == "明日方舟 音律联觉 开启 and AcmePhone 真好用"
    assert normalize(text, hashtags="drop") == "开启 and 真好用"
    with pytest.raises(ValueError, match="hashtags must be one of"):
        normalize(text, hashtags="strip")


def test_placeholders_can_be_removed_or_kept():
    text = "Hi @bob see https://x.com/a?b=1#frag ok"
    assert normalize(text, urls="", mentions="") == "Hi see ok"
    assert normalize(text, urls=None, mentions=None) == text  # '#frag' inside the URL is no hashtag
    assert normalize("soooooo", max_repeat=None) == "soooooo"


def test_squash_elongations_never_lengthens():
    assert squash_elongations("aaaa bbbbbbbb", 5) == "aaaa bbbbb"
    assert squash_elongations("好好好好", 1) == "好"
    assert squash_elongations("no runs here") == "no runs here"


def test_clean_unicode_keeps_emoji_nfkc_would_flatten():
    assert clean_unicode("™ 🈵 ‼ ㊗") == "™ 🈵 ‼ ㊗"
    assert clean_unicode("ｶﾀｶﾅ") == "カタカナ"  # half-width katakana widened


def test_extract_entities_english():
    found = extract_entities("RT @Acme_Support: Love it!! #AcmePhone #1 C# https://acme.com/p?id=3#top. bob@x.com")
    assert found == {"urls": ["https://acme.com/p?id=3#top"], "mentions": ["Acme_Support"], "hashtags": ["AcmePhone"]}


def test_extract_entities_chinese():
    found = extract_entities("#明日方舟##音律联觉#恭喜@心态爆炸的大龄姨母 9@响嘛响叮当 3 #AcmePhone真好用 ＃２０２１lpl＃")
    assert found["hashtags"] == ["明日方舟", "音律联觉", "AcmePhone", "2021lpl"]
    assert found["mentions"] == ["心态爆炸的大龄姨母", "响嘛响叮当"]
    assert found["urls"] == []


def test_batch_forms_match_single():
    texts = ["Ｈｅｌｌｏ @a", "哈哈哈哈哈 #话题#", ""]
    assert normalize_many(texts, mentions="") == [normalize(t, mentions="") for t in texts]
    assert extract_entities_many(texts) == [extract_entities(t) for t in texts]


@pytest.mark.skipif(not WEIBO.is_dir(), reason=f"Weibo payload samples not found at {WEIBO} (set TOWNSQUARE_DATASETS)")
def test_real_weibo_posts():
    """Every Weibo topic the m.weibo.cn payload marks up is found in the post's plain text."""
    checked = 0
    for path in sorted(WEIBO.glob("weibo_*_list_*.json")):
        for card in json.loads(path.read_text(encoding="utf-8"))["data"]["cards"]:
            html_text = (card.get("mblog") or {}).get("text", "")
            plain = re.sub(r"<[^>]+>", "", html_text)
            topics = re.findall(r"#([^#<]+)#", html_text)
            found = extract_entities(plain)["hashtags"]
            assert set(topics) <= set(found), plain
            out = normalize(plain)
            assert "<" not in out.replace("<url>", "") and "  " not in out
            checked += bool(topics)
    assert checked >= 10
