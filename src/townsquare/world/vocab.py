"""Topics and the per-language vocabularies, indexed the way the generator uses them (0 = en, 1 = zh)."""

from __future__ import annotations

from townsquare.world import vocab_en, vocab_zh

TOPICS: tuple[str, ...] = tuple(vocab_en.TOPICS)
TECH = TOPICS.index("tech")
SPORTS = TOPICS.index("sports")
LANGS = ("en", "zh")
SENTIMENTS = ("pos", "neu", "neg")
VOCAB = (vocab_en, vocab_zh)

# How popular each topic is among English and Chinese authors (order of TOPICS).
TOPIC_PRIOR = (
    (0.14, 0.14, 0.10, 0.09, 0.11, 0.09, 0.10, 0.10, 0.06, 0.07),
    (0.12, 0.08, 0.14, 0.10, 0.09, 0.08, 0.13, 0.11, 0.08, 0.07),
)
# Everyday posts lean positive; each author's mood shifts this (see people.py).
SENTIMENT_PRIOR = (0.42, 0.35, 0.23)
# How people talk about the brand outside the crisis: mostly neutral or happy.
BRAND_SENTIMENT = (0.45, 0.40, 0.15)

assert tuple(vocab_zh.TOPICS) == TOPICS, "vocab_en and vocab_zh must list the same topics in the same order"
