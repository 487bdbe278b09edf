"""Recommend: every model keeps the same contract; readers, splits, metrics and `feed batch` behave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from townsquare.errors import BadInput
from townsquare.recommend import MODELS, holdout_split, read_interactions, read_social
from townsquare.recommend.metrics import coverage, intra_list_diversity, ranking_metrics

LASTFM = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "hetrec2011_lastfm_2k"


def synthetic(n_users: int = 80, n_items: int = 50, seed: int = 3) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Two taste groups (users like items of their half), play counts, and friends mostly within a group."""
    rng = np.random.default_rng(seed)
    group = np.arange(n_users) % 2
    likes = rng.random((n_users, n_items)) < np.where((np.arange(n_items) % 2)[None, :] == group[:, None], 0.3, 0.03)
    plays = likes * rng.integers(1, 500, size=likes.shape)
    friends = np.triu(rng.random((n_users, n_users)) < np.where(group[:, None] == group[None, :], 0.1, 0.01), 1)
    return sp.csr_matrix(plays.astype(np.float32)), sp.csr_matrix((friends | friends.T).astype(np.float32))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_keeps_the_contract(name):
    x, social = synthetic()
    users = np.arange(x.shape[0])
    items, scores = MODELS[name]().fit(x, social).recommend(users, k=5)
    assert items.shape == scores.shape == (len(users), 5)
    assert (items >= 0).all(), "plenty of unseen items: every list is full"
    for u in users:
        assert not set(items[u]) & set(x[u].indices), "a seen item came back"
        assert len(set(items[u])) == 5
    assert (np.diff(scores, axis=1) <= 0).all(), "best first"
    again, again_scores = MODELS[name]().fit(x, social).recommend(users, k=5)
    np.testing.assert_array_equal(items, again)
    np.testing.assert_allclose(scores, again_scores, rtol=1e-5)
    if name != "popularity":  # personalised models pick up the two taste groups
        same_half = (items % 2) == (users % 2)[:, None]
        assert same_half.mean() > 0.8


@pytest.mark.parametrize("name", ["townsquare", "itemknn"])
def test_models_work_without_a_friend_graph_and_can_return_seen_items(name):
    x, _ = synthetic()
    model = MODELS[name]().fit(x)
    items, _ = model.recommend([0, 1], k=x.shape[1], exclude_seen=False)
    assert (items[:, :10] >= 0).all()
    with pytest.raises(ValueError, match="k must be"):
        model.recommend([0], k=0)


def test_short_lists_are_padded_when_a_user_has_seen_almost_everything():
    x = sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 1, 0, 1], [1, 0, 1, 1]], np.float32))
    items, scores = MODELS["popularity"]().fit(x).recommend([0], k=3)
    assert items[0].tolist() == [3, -1, -1]
    assert np.isinf(scores[0, 1:]).all()


def test_readers_take_tabs_or_spaces_with_or_without_a_header(tmp_path):
    with_header = tmp_path / "a.tsv"
    with_header.write_text("userID\tartistID\tweight\nu1\tA\t10\nu1\tB\t1\nu2\tA\t3\nu2\tA\t2\n\n")
    plain = tmp_path / "b.txt"
    plain.write_text("u1 A 10\nu1 B 1\nu2 A 5\n")
    a, b = read_interactions(with_header), read_interactions(plain)
    assert a.users == b.users == ["u1", "u2"] and a.items == b.items == ["A", "B"]
    np.testing.assert_array_equal(a.matrix.toarray(), [[10, 1], [5, 0]])  # repeated pairs add up
    np.testing.assert_array_equal(a.matrix.toarray(), b.matrix.toarray())
    no_weight = tmp_path / "c.tsv"
    no_weight.write_text("u1\tA\nu2\tB\n")
    assert read_interactions(no_weight).matrix.toarray().tolist() == [[1, 0], [0, 1]]
    friends = tmp_path / "f.tsv"
    friends.write_text("userID\tfriendID\nu1\tu2\nu2\tu1\nu1\tstranger\n")
    social = read_social(friends, a.users)
    assert social.toarray().tolist() == [[0, 1], [1, 0]]


def test_bad_input_names_the_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("user\titem\tweight\nu1\tA\t3\nu1\tB\tlots\n")
    with pytest.raises(BadInput, match=r"line 3 column 3 \(weight\).*'lots' is not a number"):
        read_interactions(bad)
    bad.write_text("u1\tA\t-2\n")
    with pytest.raises(BadInput, match="must be a finite number >= 0"):
        read_interactions(bad)
    bad.write_text("u1\tA\t1\nu2\n")
    with pytest.raises(BadInput, match="line 2.*expected 2 columns"):
        read_interactions(bad)
    with pytest.raises(BadInput, match="no such file"):
        read_interactions(tmp_path / "missing.tsv")


def test_holdout_split_hides_a_fifth_of_each_users_items_reproducibly():
    x, _ = synthetic(n_users=40, n_items=60)
    x = sp.csr_matrix(sp.diags(np.r_[0.0, np.ones(39)]) @ x)  # user 0 has no items
    x.eliminate_zeros()
    train, test = holdout_split(x, seed=5)
    assert (train + test != x).nnz == 0 and train.multiply(test).nnz == 0
    for u in range(x.shape[0]):
        n = x[u].nnz
        assert test[u].nnz == (round(0.2 * n) if n >= 5 else 0)
    again_train, again_test = holdout_split(x, seed=5)
    assert (again_test != test).nnz == 0
    assert (holdout_split(x, seed=6)[1] != test).nnz > 0


def test_metrics_on_a_hand_worked_example():
    test = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], np.float32))
    recs = np.array([[0, 2], [3, 4], [2, 0]])
    m = ranking_metrics(recs, test, k=2)  # user 2 has no positives: not judged
    assert m["P@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert m["R@2"] == pytest.approx((1 / 2 + 1) / 2)
    ndcg_0 = 1 / (1 + 1 / np.log2(3))
    ndcg_1 = (1 / np.log2(3)) / 1
    assert m["NDCG@2"] == pytest.approx((ndcg_0 + ndcg_1) / 2)
    assert coverage(recs, 5) == pytest.approx(4 / 5)
    train = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], np.float32))
    assert intra_list_diversity(np.array([[0, 1]]), train) == pytest.approx(0.0)  # identical audiences
    assert intra_list_diversity(np.array([[0, 2]]), train) == pytest.approx(1.0)  # disjoint audiences


def test_feed_batch_writes_top_k_and_never_repeats_a_training_pair(tmp_path, run_cli):
    x, social = synthetic()
    plays, follows = tmp_path / "plays.tsv", tmp_path / "follows.tsv"
    coo = x.tocoo()
    plays.write_text("user\titem\tweight\n" + "".join(
        f"user{u}\tartist{i}\t{int(w)}\n" for u, i, w in zip(coo.row, coo.col, coo.data, strict=True)))
    f = sp.triu(social).tocoo()
    follows.write_text("".join(f"user{a}\tuser{b}\n" for a, b in zip(f.row, f.col, strict=True)))
    out = tmp_path / "recs.tsv"
    run = run_cli("feed", "batch", "--interactions", str(plays), "--follows", str(follows), "--k", "7",
                  "--output", str(out), "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "wrote 560 recommendations for 80 users" in run.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "user\titem\trank"
    rows = [line.split("\t") for line in lines[1:]]
    training = {(f"user{u}", f"artist{i}") for u, i in zip(coo.row, coo.col, strict=True)}
    assert not {(u, i) for u, i, _ in rows} & training
    assert [r for _, _, r in rows[:7]] == [str(r) for r in range(1, 8)]
    bad = run_cli("feed", "batch", "-i", str(plays), "--k", "0", "-o", str(out))
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: --k:")
    assert "Traceback" not in bad.stderr


@pytest.mark.skipif(not LASTFM.is_dir(), reason=f"HetRec Last.fm data not found at {LASTFM}")
def test_on_lastfm_item_knn_beats_popularity_on_a_validation_split():
    data = read_interactions(LASTFM / "user_artists.train.dat")
    train, test = holdout_split(data.matrix, seed=20240601)
    users = np.arange(train.shape[0])
    ndcg = {name: ranking_metrics(MODELS[name]().fit(train).recommend(users, 10)[0], test)["NDCG@10"]
            for name in ("popularity", "itemknn")}
    assert ndcg["popularity"] == pytest.approx(0.0654, abs=0.002)
    assert ndcg["itemknn"] > 0.16


@pytest.mark.slow
@pytest.mark.skipif(not LASTFM.is_dir(), reason=f"HetRec Last.fm data not found at {LASTFM}")
def test_on_lastfm_townsquare_beats_every_baseline_with_the_friend_graph():
    data = read_interactions(LASTFM / "user_artists.train.dat")
    social = read_social(LASTFM / "user_friends.dat", data.users)
    train, test = holdout_split(data.matrix, seed=20240601)
    users = np.arange(train.shape[0])
    ndcg = {name: ranking_metrics(MODELS[name]().fit(train, social).recommend(users, 10)[0], test)["NDCG@10"]
            for name in ("townsquare", "itemknn", "als")}
    assert ndcg["townsquare"] > 1.05 * max(ndcg["itemknn"], ndcg["als"])
