"""townsquare: self-hosted language models for social media."""

__version__ = "0.1.0"
