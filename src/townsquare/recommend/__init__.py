"""Recommend: offline top-k recommenders over interactions and a friend graph, and how to measure them.

    from townsquare.recommend import SocialBlend, read_interactions, read_social
    data = read_interactions("plays.tsv")
    model = SocialBlend().fit(data.matrix, read_social("friends.tsv", data.users))
    items, scores = model.recommend(range(len(data.users)), k=20)
"""

from townsquare.recommend.als import ALS, BPR
from townsquare.recommend.base import Recommender
from townsquare.recommend.blend import SocialBlend
from townsquare.recommend.data import Interactions, holdout_split, read_interactions, read_social
from townsquare.recommend.ease import EASE
from townsquare.recommend.itemknn import ItemKNN
from townsquare.recommend.metrics import evaluate
from townsquare.recommend.popularity import Popularity
from townsquare.recommend.rp3beta import RP3beta

MODELS = {"townsquare": SocialBlend, "popularity": Popularity, "itemknn": ItemKNN, "ease": EASE,
          "rp3beta": RP3beta, "als": ALS, "bpr": BPR}

__all__ = ["ALS", "BPR", "EASE", "MODELS", "Interactions", "ItemKNN", "Popularity", "RP3beta", "Recommender",
           "SocialBlend", "evaluate", "holdout_split", "read_interactions", "read_social"]
