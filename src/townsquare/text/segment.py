"""Chinese word segmentation (jieba), shared by retrieval, listen's top terms and the writer's keywords.

jieba announces its dictionary load on stderr ("Building prefix dict from the default dictionary ...",
"Loading model cost 0.65 seconds."), which users of the CLI read as errors; it is imported here once, quietly.
"""

from __future__ import annotations

import functools
import logging


@functools.cache
def _jieba():  # noqa: ANN202 - the jieba module
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def segment(text: str) -> list[str]:
    """jieba's precise-mode words, as written (spaces and punctuation included)."""
    return _jieba().lcut(text)


def search_words(text: str) -> list[str]:
    """jieba's search-mode words: the precise words and the shorter words inside long ones (系统维护 -> 系统, 维护)."""
    return _jieba().lcut_for_search(text)


def key_terms(text: str, k: int) -> list[str]:
    """The k words that most distinguish ``text`` (jieba's TF-IDF keywords), best first."""
    _jieba()
    import jieba.analyse

    return jieba.analyse.extract_tags(text, topK=k)
