"""FastVader gives the vaderSentiment package's scores, word for word: the heads learnt from the package's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("vaderSentiment", reason="vaderSentiment is not installed (pip install townsquare[ml])")

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from townsquare.understand.vader import FastVader  # noqa: E402

DATA = Path(os.environ.get("TOWNSQUARE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
RULES = [  # each of the package's rules, and its quirks
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", "Not bad at all", "At least it isn't a horrible book.",
    "The book was only kind of good.", "Today only kinda sux! But I'll get by, lol", "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁", "no no no good", "never so good", "without doubt good", "kind of", "",
    "   ", "the shit is the bomb", "good but bad but good good", "least good", "at least good", "very least good",
    "😍😍😍", "a😍b", "NO WAY this is GOOD", "I don't not like it", "it's not that great??", "it is the shit",
    "she is a bad ass", "that was kind of death", "yeah right good", "i love the beating heart", "good, but",
    "kiss of death is bad", "to die for good", "very very good", "ÉTÉ bon 😀 good", "no or nor good", "GOOD!!!!!!",
    "sort of nice", "hardly ever happy", "never this happy", "this is not good at all", "wow?!?! ugh... meh",
]


def _texts() -> list[str]:
    if not (DATA / "tweeteval").exists():
        return RULES
    from townsquare.understand import data

    texts = RULES + data.tweeteval(DATA, "sentiment", "val").texts
    for task in ("emotion", "offensive", "irony"):
        texts += data.tweeteval(DATA, task, "val").texts
    return texts


def test_same_scores_as_the_package():
    package, fast = SentimentIntensityAnalyzer(), FastVader()
    texts = _texts()
    mismatches = [t for t in texts if fast.polarity_scores(t) != package.polarity_scores(t)]
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ, e.g. {mismatches[:3]}"
