"""Generation through an OpenAI-compatible server: vLLM, llama.cpp server, Ollama or a hosted API.

Uses the plain ``/v1/completions`` endpoint (completion-style prompts, like the local backends).
Each candidate is one request with ``n=1`` (servers differ on ``n``: llama.cpp's ignores it), sent a
few at a time so that batching servers such as vLLM can batch them. Connection failures are
retried with back-off; whatever still fails becomes one line that names TOWNSQUARE_LLM.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from townsquare.errors import BadInput, TownsquareError
from townsquare.models.llm.base import Generation, check_generate_args, check_score_args, no_beams


class HTTPGenerator:
    """``base_url`` ends where ``/completions`` is appended, e.g. ``http://127.0.0.1:8080/v1``.

    ``model``: the served model name (default: the first one the server lists under ``/models``);
    for vLLM a LoRA adapter is served under its own model name.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "",
        api_key: str = "",
        timeout: float = 300.0,
        retries: int = 3,
        concurrency: int = 4,
    ):
        self.base_url = base_url.rstrip("/")
        self.name = self.base_url
        self.context_length: int | None = None  # the server checks prompt + max_tokens itself
        self._model = model
        self._retries = retries
        self._concurrency = concurrency
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0), headers=headers)
        self._model_lock = threading.Lock()

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        url = f"{self.base_url}{path}"
        for attempt in range(self._retries + 1):
            try:
                response = self._client.request(method, url, json=body)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == self._retries:
                    raise BadInput(
                        "TOWNSQUARE_LLM",
                        f"cannot reach the LLM server at {url} after {attempt + 1} tries ({type(exc).__name__})",
                        "start the server, or point TOWNSQUARE_LLM at a running OpenAI-compatible server",
                    ) from None
                time.sleep(0.25 * 2**attempt)
            except httpx.TimeoutException:
                raise TownsquareError(
                    f"TOWNSQUARE_LLM: the LLM server at {url} did not answer in time — "
                    "lower max_tokens or use a faster server"
                ) from None
        if response.status_code >= 400:
            detail = " ".join(response.text.split())[:300]
            raise TownsquareError(f"TOWNSQUARE_LLM: the LLM server at {url} answered {response.status_code}: {detail}")
        return response.json()

    @property
    def model(self) -> str:
        with self._model_lock:
            if not self._model:
                listed = self._request("GET", "/models").get("data") or []
                if not listed:
                    raise BadInput("TOWNSQUARE_LLM_MODEL", f"the server at {self.base_url} lists no models",
                                   "set TOWNSQUARE_LLM_MODEL to the model to use")
                self._model = listed[0]["id"]
            return self._model

    def _complete(self, prompt: str, **params) -> Generation:
        body = {"model": self.model, "prompt": prompt, "n": 1, **{k: v for k, v in params.items() if v is not None}}
        answer = self._request("POST", "/completions", body)
        choice = answer["choices"][0]
        return Generation(
            text=choice["text"],
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            tokens=int((answer.get("usage") or {}).get("completion_tokens") or 0),
        )

    def generate(
        self,
        prompts: list[str],
        *,
        max_tokens: int = 64,
        temperature: float = 0.7,
        top_p: float = 0.95,
        n: int = 1,
        stop: list[str] | None = None,
        seed: int | None = None,
        beams: int = 1,
        avoid_start: str = "",  # an OpenAI-style server takes token ids, not characters: the caller's checks are the backstop
    ) -> list[list[Generation]]:
        stop = check_generate_args(prompts, max_tokens, temperature, top_p, n, stop, beams)
        no_beams("HTTP", beams)
        per_prompt = n if temperature > 0 else 1  # greedy has one answer: repeated below
        jobs = [(prompt, None if seed is None else seed + j) for prompt in prompts for j in range(per_prompt)]

        def run(job: tuple[str, int | None]) -> Generation:
            prompt, job_seed = job
            return self._complete(prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                                  stop=stop or None, seed=job_seed)

        with ThreadPoolExecutor(self._concurrency) as pool:
            flat = list(pool.map(run, jobs))
        return [flat[i * per_prompt : (i + 1) * per_prompt] * (n // per_prompt) for i in range(len(prompts))]

    def score(self, texts: list[str], *, contexts: list[str] | None = None) -> list[tuple[float, int]]:
        """Echoes each text with its token log-probabilities (vLLM; llama.cpp server with logits_all)."""
        contexts = check_score_args(texts, contexts)
        results = []
        for i, text in enumerate(texts):
            context = contexts[i] if contexts else ""
            body = {"model": self.model, "prompt": context + text, "max_tokens": 1, "temperature": 0,
                    "echo": True, "logprobs": 1}
            logprobs = self._request("POST", "/completions", body)["choices"][0].get("logprobs") or {}
            offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
            if not offsets or not values:
                raise TownsquareError(f"TOWNSQUARE_LLM: the server at {self.base_url} returns no prompt "
                                      "log-probabilities (echo + logprobs), so it cannot score texts")
            # Keep the tokens that start inside the text and before the one generated token. Servers give
            # the very first token no log-probability, so without a context it goes unscored (and uncounted).
            end = len(context + text)
            picked = [v for o, v in zip(offsets, values, strict=False) if len(context) <= o < end and v is not None]
            results.append((float(sum(picked)), len(picked)))
        return results

    def close(self) -> None:
        self._client.close()
