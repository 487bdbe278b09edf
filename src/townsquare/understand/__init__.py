"""Understand: per-post sentiment, emotion, offensive/hate/toxicity, irony, crisis-informativeness, language, PII."""

from townsquare.understand.analyzer import EMOTION, PROBABILITIES, SENTIMENT, Analyzer

__all__ = ["EMOTION", "PROBABILITIES", "SENTIMENT", "Analyzer"]
