"""townsquare: self-hosted language models for social media."""

import os

# torch and llama.cpp share one OpenMP runtime; busy-waiting threads from one starve the other on small
# machines (llama.cpp fell from 30 to 3 tokens/s on 2 loaded cores). Must be set before either loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
