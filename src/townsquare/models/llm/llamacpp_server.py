"""``python -m townsquare.models.llm.llamacpp_server --model FILE.gguf ...``: llama-cpp-python's OpenAI-compatible
server (``llama_cpp.server``, same arguments), loading models the way townsquare does (`safe_weight_buffers`: on CPUs
with AMX the stock server dies on its first completion)."""

import runpy

from townsquare.models.llm.llamacpp import safe_weight_buffers

if __name__ == "__main__":
    with safe_weight_buffers():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
