"""Intent detection: CLI round-trip on a small real subset (BANKING77 / CLINC150), input errors, Chinese."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from townsquare.cli import app
from townsquare.errors import BadInput
from townsquare.respond.intents import IntentModel, load_examples
from townsquare.respond.intents.encoders import encode
from townsquare.respond.intents.finetune import FineTunedEncoder, _length_batches

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
CLINC = DATA / "clinc150" / "data_full_trainval.json"
needs_clinc = pytest.mark.skipif(not CLINC.is_file(), reason=f"CLINC150 not found at {CLINC}")
runner = CliRunner()
INTENTS = ["balance", "transfer", "freeze_account", "pin_change", "exchange_rate"]


def _clinc_subset():
    c = json.loads(CLINC.read_text())
    train: list = []
    for intent in INTENTS:  # 100 real examples per intent
        train += [(q, i) for q, i in c["train"] if i == intent][:100]
    train += c["oos_train"][:100]
    val = [(q, i) for q, i in c["val"] if i in INTENTS] + c["oos_val"][:20]
    return train, val


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small real model (5 x 100 CLINC150 examples + 100 oos; USE + MiniLM fine-tuned for 2 epochs), via the CLI."""
    if not CLINC.is_file():
        pytest.skip(f"CLINC150 not found at {CLINC}")
    tmp = tmp_path_factory.mktemp("intents")
    train, val = _clinc_subset()
    examples = tmp / "examples.csv"
    with examples.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "intent"])
        w.writerows(train)
    model_dir = tmp / "model"
    r = runner.invoke(app, ["intents", "train", "--examples", str(examples), "--model-dir", str(model_dir),
                            "--encoders", "use", "--epochs", "2"])
    assert r.exit_code == 0, r.output
    assert "fine-tuned MiniLM" in r.output
    return tmp, model_dir, val


@needs_clinc
def test_cli_round_trip_on_real_subset(trained):
    tmp, model_dir, val = trained
    queries = tmp / "queries.jsonl"
    queries.write_text("".join(json.dumps({"id": n, "text": q}) + "\n" for n, (q, _) in enumerate(val)))
    preds = tmp / "preds.jsonl"
    r = runner.invoke(app, ["intents", "predict", "--model-dir", str(model_dir), "--input", str(queries),
                            "--output", str(preds)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [row["id"] for row in rows] == list(range(len(val)))
    assert all(0.0 <= row["confidence"] <= 1.0 for row in rows)
    gold = np.array([i for _, i in val])
    pred = np.array([row["intent"] for row in rows])
    ins = gold != "oos"
    assert np.mean(pred[ins] == gold[ins]) >= 0.85
    assert np.mean(pred[~ins] == "oos") >= 0.5
    assert set(pred) <= set(INTENTS) | {"oos"}


@needs_clinc
def test_cli_predict_shows_no_loader_bars(trained):
    """The fine-tuned encoder loads through transformers, whose "Loading weights: 100%|..." bar on stderr
    is noise for CLI users (`townsquare.cli.main` turns the Hugging Face bars off unless --debug)."""
    tmp, model_dir, _ = trained
    queries = _write(tmp / "two.jsonl", '{"id": 1, "text": "what is my balance"}\n{"id": 2, "text": "freeze my card"}\n')
    args = ["intents", "predict", "--model-dir", str(model_dir), "--input", str(queries), "--output", str(tmp / "two.out")]
    r = subprocess.run([sys.executable, "-c", "from townsquare.cli import main; main()", *args],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Loading weights" not in r.stderr and "Loading weights" not in r.stdout
    assert len((tmp / "two.out").read_text().splitlines()) == 2
    # two queries time the models' warm-up: no "(0/s)" rate, and the count reads as English
    assert "labelled 2 queries" in r.stdout and "/s)" not in r.stdout, r.stdout


@needs_clinc
def test_jsonl_examples_without_oos_calibrate_a_threshold(tmp_path):
    train, _ = _clinc_subset()
    examples = tmp_path / "examples.jsonl"
    examples.write_text("".join(json.dumps({"text": q, "intent": i}) + "\n" for q, i in train if i != "oos"))
    r = runner.invoke(app, ["intents", "train", "--examples", str(examples), "--model-dir", str(tmp_path / "m"),
                            "--encoders", "use", "--no-finetune"])
    assert r.exit_code == 0, r.output
    model = IntentModel.load(tmp_path / "m")
    assert "oos" not in model.labels and model.threshold > 0.0 and model.finetuned is None
    intents, conf = model.predict(["what is my account balance", "how tall is mount everest"])
    assert intents[0] == "balance"


@needs_clinc
def test_fine_tuned_encoder_learns_and_round_trips(tmp_path):
    """MiniLM fine-tuned on 3 x 30 real examples fits them, and a saved copy gives the same logits."""
    train, val = _clinc_subset()
    labels = INTENTS[:3]
    rows = [(q, i) for q, i in train if i in labels]
    rows = [r for label in labels for r in [r for r in rows if r[1] == label][:30]]
    texts, intents = [q for q, _ in rows], [i for _, i in rows]
    before = FineTunedEncoder.fit(texts[:3], intents[:3], labels, epochs=1)  # 1 step: barely trained
    model = FineTunedEncoder.fit(texts, intents, labels, epochs=3, batch_size=16)
    held = [(q, i) for q, i in val if i in labels]
    gold = np.array([labels.index(i) for _, i in held])
    acc = np.mean(model.logits([q for q, _ in held]).argmax(1) == gold)
    assert acc >= 0.9 and acc > np.mean(before.logits([q for q, _ in held]).argmax(1) == gold)
    model.save(tmp_path / "ft")
    again = FineTunedEncoder.load(tmp_path / "ft", labels)
    np.testing.assert_allclose(again.logits(texts[:8]), model.logits(texts[:8]), atol=1e-4)


def test_length_batches_cover_every_row_once():
    lengths = np.random.default_rng(0).integers(1, 80, size=1000)
    batches = _length_batches(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert all(len(b) <= 32 for b in batches)
    spread = np.mean([np.ptp(lengths[b]) for b in batches])  # grouped by length: little padding
    assert spread < 0.3 * np.ptp(lengths)


@needs_clinc
def test_fine_tuned_model_is_saved_and_used(trained):
    _, model_dir, _ = trained
    model = IntentModel.load(model_dir)
    assert model.finetuned is not None and (model_dir / "finetuned" / "head.npz").is_file()
    # fine-tuned without the held-out part its threshold was calibrated on
    assert 0 < model.meta["finetuned_on"] < model.meta["trained_on"]
    queries = ["what is my account balance", "send 20 dollars to my sister"]
    intents, _ = model.predict(queries)
    assert intents == ["balance", "transfer"]
    none, conf = model.predict([])
    assert none == [] and conf.shape == (0,)
    with pytest.raises(ValueError, match="finetuned_logits"):  # the threshold belongs to the mix
        model.predict_features(encode(queries, model.encoders))


@needs_clinc
def test_chinese_queries_get_an_intent_or_oos(trained):
    _, model_dir, _ = trained
    model = IntentModel.load(model_dir)
    queries = ["我的账户余额是多少", "请帮我冻结我的银行账户", "今天天气怎么样", ""]
    intents, conf = model.predict(queries)
    assert len(intents) == 4 and conf.shape == (4,)
    assert set(intents) <= set(INTENTS) | {"oos"}
    assert intents[0] in ("balance", "oos")


@needs_clinc
def test_queries_in_other_languages_go_to_the_multilingual_model(trained):
    """The fine-tuned MiniLM is English-only: Chinese queries are decided by the multilingual model saved beside it,
    English ones exactly as before."""
    _, model_dir, _ = trained
    model = IntentModel.load(model_dir)
    sub = model.non_english
    assert sub is not None and sub.encoders == ["use"] and sub.finetuned is None and sub.threshold > 0.0
    assert (model_dir / "non_english" / "config.json").is_file()
    chinese = ["我的账户余额是多少", "给我妹妹转20块钱", "请马上冻结我的账户", "我想修改银行卡的密码", "美元兑人民币的汇率是多少"]
    intents, conf = model.predict(chinese)
    expected_intents, expected_conf = sub.predict_features(encode(chinese, ["use"]))
    assert intents == expected_intents and np.allclose(conf, expected_conf)
    assert sum(i == gold for i, gold in zip(intents, INTENTS, strict=True)) >= 4
    english = ["what is my account balance", "send 20 dollars to my sister"]
    assert model.predict(english)[0] == model.predict_features(
        encode(english, model.encoders), model.finetuned.logits(english))[0] == ["balance", "transfer"]
    # a mixed batch keeps its order
    assert model.predict([english[0], chinese[2], english[1]])[0] == ["balance", intents[2], "transfer"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("content", "name", "field"), [
    ("text,label_x\nhi,a\n", "ex.csv", "intent"),
    ("words,intent\nhi,a\n", "ex.csv", "text"),
    ("", "ex.csv", "--examples"),
    ('{"text": "hi", "intent": "a"}\n{"text": "", "intent": "b"}\n', "ex.jsonl", "text (line 2)"),
    ('{"text": "hi"}\n{"text": "yo", "intent": "b"}\n', "ex.jsonl", "intent (line 1)"),
    ("not json\n", "ex.jsonl", "ex.jsonl line 1"),
])
def test_bad_examples_name_the_field(tmp_path, content, name, field):
    with pytest.raises(BadInput) as exc:
        load_examples(_write(tmp_path / name, content))
    assert exc.value.field == field
    assert "\n" not in str(exc.value)


def test_cli_errors_are_one_line(tmp_path):
    cases = [
        (["intents", "train", "--examples", str(_write(tmp_path / "e.csv", "text\nhi\n")),
          "--model-dir", str(tmp_path / "m")], "intent"),
        (["intents", "predict", "--model-dir", str(tmp_path / "nope"), "--input",
          str(_write(tmp_path / "q.jsonl", '{"text": "hi"}\n')), "--output", str(tmp_path / "p.jsonl")],
         "--model-dir"),
    ]
    for args, field in cases:
        r = subprocess.run([sys.executable, "-c", "from townsquare.cli import main; main()", *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and field in lines[0], r.stderr
