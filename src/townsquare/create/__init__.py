"""Create: posts and replies in a brand's voice. This package holds the fine-tuning half
(``townsquare.create.finetune``): the prompt format the shipped adapter learned, data preparation, LoRA
training, perplexity and GGUF export. ``shipped_adapter()`` finds the adapter that ships with townsquare.
"""

from townsquare.create.finetune.prompt import PLATFORM_LIMITS, STOP, build_prompt
from townsquare.create.finetune.shipped import shipped_adapter

__all__ = ["PLATFORM_LIMITS", "STOP", "build_prompt", "shipped_adapter"]
