"""Is the customer angry? The rule that hands an upset customer to a person.

The understand heads learnt from tweets, and to them a customer's plain problem ("I need to cancel a transaction",
"the exchange rate was wrong") reads as negative and angry. On those readings alone (negative >= 0.85, anger >= 0.6,
not a plain question) the assistant handed 7.8 % of ordinary BANKING77 messages and 4.6 % of Bitext's to a person,
and caught 20 % of Bitext's profane ones ("I need to correct the goddamn shipping address"). Anger now needs toxic
language, swearing or insults (the word lists below, English and Chinese), or the heads' reading *with* heat: an
exclamation mark; "!!" or capitals with a clearly negative reading. A question ending in "?!" is asked with emphasis,
not shouted: it counts as one exclamation mark. When it counted as heat, 24 % of our English customer questions and
33 % of BANKING77's were handed off as angry once they ended in "?!" ("Why did my payment fail?!"); now 2 % and
11 %. Measured in `benchmarks/respond_conversations.py`.
"""

from __future__ import annotations

import re

ANGRY_NEGATIVE, ANGRY_ANGER, ANGRY_TOXICITY = 0.85, 0.6, 0.8
# Swearing, insults and words of outrage; masked swearing ("f******") counts too. General lists, not tuned on the
# messages they are measured on.
_CURSES = re.compile(
    r"\b(?:(?:god)?damn\w*|f+u+c+k\w*|[fs]h?\*{2,}\w*|shit\w*|crap\w*|bullshit|bloody|wtf|stfu|pissed|bastard\w*|"
    r"idiot\w*|stupid|moron\w*|useless|pathetic|ridiculous|unacceptable|disgrace\w*|scam\w*|rip[- ]?off|"
    r"furious|outrag\w*|livid|fed up|sick (?:and tired )?of|worst|incompetent|disgusting|hell)\b"
    r"|气死|垃圾|骗子|骗人|坑人|坑爹|妈的|他妈|tmd|傻逼|傻[xXbB]|滚蛋|滚开|无语|恶心|受够|忍无可忍|破(?:手机|服务|东西|公司)|"
    r"差劲|什么玩意|混蛋|废物|坑钱|过分", re.I)
_HEAT = re.compile(r"[!！]")
_HOT = re.compile(r"[!！][?？]*[!！]")  # "!!", "!?!", "！！" (two exclamation marks; "?!" alone is emphasis)
HOT_NEGATIVE = 0.6


def shouting(text: str) -> bool:
    """Mostly capitals, over enough letters that an acronym (ATM, IMEI) does not count."""
    letters = [c for c in text if c.isascii() and c.isalpha()]
    return len(letters) >= 10 and sum(c.isupper() for c in letters) >= 0.6 * len(letters)


def is_angry(text: str, negative: float, anger: float, toxicity: float) -> bool:
    """Toxic, swearing or insulting, or read as negative and angry *and* said with heat (a clearly negative message
    with "!!" or in capitals is enough: some customers type in capitals, so capitals alone are not)."""
    if toxicity >= ANGRY_TOXICITY or _CURSES.search(text):
        return True
    if (_HOT.search(text) or shouting(text)) and negative >= HOT_NEGATIVE:
        return True
    return bool(_HEAT.search(text)) and negative >= ANGRY_NEGATIVE and max(anger, toxicity) >= ANGRY_ANGER
