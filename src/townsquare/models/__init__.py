"""Models shared by every capability: the post embedder and small trained heads over it."""

from townsquare.models.embedder import EMBEDDERS, Embedder, USEEmbedder, get_embedder
from townsquare.models.heads import Head

__all__ = ["EMBEDDERS", "Embedder", "Head", "USEEmbedder", "get_embedder"]
