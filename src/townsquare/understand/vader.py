"""VADER (vaderSentiment 3.3.2) with the same scores, 2-3x faster: what `features.lexicon_scores` runs.

The package re-lowercases a post's words for every word it scores (about ten `str.lower` calls per
word), runs its emoji loop over every character of every post and rebuilds lists to check one word
against its negations. Here each post is lower-cased once, ASCII posts skip the emoji loop, and
words outside the lexicon take the short path; the rules themselves are the package's, in its
order, and the rarer ones ("least", "but", the final scoring) are the package's own code.
`tests/test_vader.py` checks the scores are identical to the package's on real tweets.
"""

from __future__ import annotations

import string

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    allcap_differential,
    scalar_inc_dec,
)

_NEGATE = frozenset(NEGATE)


def _negated(word: str) -> bool:
    """The package's ``negated([word])`` for one lower-cased word."""
    return word in _NEGATE or "n't" in word


def _special_idioms(valence: float, low: list[str], i: int) -> float:
    """The package's `_special_idioms_check` on the lower-cased words (``i >= 3``)."""
    w3, w2, w1, w0 = low[i - 3], low[i - 2], low[i - 1], low[i]
    for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}", f"{w3} {w2} {w1}", f"{w3} {w2}"):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(low) - 1 > i and f"{w0} {low[i + 1]}" in SPECIAL_CASES:
        valence = SPECIAL_CASES[f"{w0} {low[i + 1]}"]
    if len(low) - 1 > i + 1 and f"{w0} {low[i + 1]} {low[i + 2]}" in SPECIAL_CASES:
        valence = SPECIAL_CASES[f"{w0} {low[i + 1]} {low[i + 2]}"]
    for n_gram in (f"{w3} {w2} {w1}", f"{w3} {w2}", f"{w2} {w1}"):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _strip_punc_if_word(token: str) -> str:
    if token.isalnum():  # no ASCII punctuation to strip
        return token
    stripped = token.strip(string.punctuation)
    return token if len(stripped) <= 2 else stripped


class FastVader(SentimentIntensityAnalyzer):
    """``polarity_scores(text) -> {"neg", "neu", "pos", "compound"}``, as the package computes them."""

    def polarity_scores(self, text: str) -> dict[str, float]:
        if not text.isascii():  # every emoji is outside ASCII
            text = self._emoji_to_words(text)
        text = text.strip()
        words = [_strip_punc_if_word(w) for w in text.split()]
        low = [w.lower() for w in words]
        is_cap_diff = allcap_differential(words)
        lexicon = self.lexicon
        sentiments: list[float] = []
        for i, lw in enumerate(low):
            if lw not in lexicon or lw in BOOSTER_DICT or (lw == "kind" and i < len(low) - 1 and low[i + 1] == "of"):
                sentiments.append(0)
            else:
                sentiments.append(self._valence(words, low, i, is_cap_diff))
        if "but" in low:
            sentiments = self._but_check(words, sentiments)
        return self.score_valence(sentiments, text)

    def _emoji_to_words(self, text: str) -> str:
        """The package's loop: each emoji becomes its description, spaced from the word before it."""
        out, prev_space = [], True
        for ch in text:
            description = self.emojis.get(ch)
            if description is not None:
                if not prev_space:
                    out.append(" ")
                out.append(description)
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out)

    def _valence(self, words: list[str], low: list[str], i: int, is_cap_diff: bool) -> float:
        """The package's `sentiment_valence` for a word in the lexicon."""
        lexicon = self.lexicon
        lw = low[i]
        valence = lexicon[lw]
        if lw == "no" and i != len(words) - 1 and low[i + 1] in lexicon:
            valence = 0.0
        if (i > 0 and low[i - 1] == "no") or (i > 1 and low[i - 2] == "no") \
                or (i > 2 and low[i - 3] == "no" and low[i - 1] in ("or", "nor")):
            valence = lexicon[lw] * N_SCALAR
        if words[i].isupper() and is_cap_diff:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            if i > start_i and low[i - (start_i + 1)] not in lexicon:
                s = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = self._negation(valence + s, low, start_i, i)
                if start_i == 2:
                    valence = _special_idioms(valence, low, i)
        return self._least_check(valence, words, i)

    @staticmethod
    def _negation(valence: float, low: list[str], start_i: int, i: int) -> float:
        """The package's `_negation_check`, on the lower-cased words (its operator precedence kept)."""
        if start_i == 0:
            if _negated(low[i - 1]):
                valence = valence * N_SCALAR
        elif start_i == 1:
            if low[i - 2] == "never" and (low[i - 1] == "so" or low[i - 1] == "this"):
                valence = valence * 1.25
            elif low[i - 2] == "without" and low[i - 1] == "doubt":
                pass
            elif _negated(low[i - 2]):
                valence = valence * N_SCALAR
        else:
            if low[i - 3] == "never" and (low[i - 2] == "so" or low[i - 2] == "this") \
                    or (low[i - 1] == "so" or low[i - 1] == "this"):
                valence = valence * 1.25
            elif low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
                pass
            elif _negated(low[i - 3]):
                valence = valence * N_SCALAR
        return valence
