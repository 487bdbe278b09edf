"""Intent detection with out-of-scope detection: `train` from ``text,intent`` examples, `IntentModel.predict`."""

from townsquare.respond.intents.data import OOS, Examples, load_examples, load_queries
from townsquare.respond.intents.model import DEFAULT_ENCODERS, IntentModel, train, train_features

__all__ = ["OOS", "DEFAULT_ENCODERS", "Examples", "IntentModel", "load_examples", "load_queries", "train",
           "train_features"]
