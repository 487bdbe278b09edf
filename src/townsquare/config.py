"""One Settings object for the whole platform, read from TOWNSQUARE_* environment variables or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from townsquare.errors import BadInput


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOWNSQUARE_", env_file=".env", extra="ignore")

    # Where things live. The embedded default keeps everything under ./var/.
    data_dir: Path = Path("var")
    database_url: str = ""  # empty -> sqlite file under data_dir
    stream_url: str = "memory://"  # or redis://host:port/0
    stream_key: str = "townsquare:posts"  # the Redis Stream's key (its consumer group is "listen")
    demo_replay: str = ""  # "START,END" (ISO UTC): the API replays these stored posts into the stream (the demo)
    demo_replay_seconds_per_hour: float = 2.0  # replay speed: wall seconds per hour of posts
    listen_consumer: bool = True  # the API process also consumes the stream (more: `townsquare listen consume`)

    # Models (swappable behind small interfaces; see townsquare.models).
    embedder: str = "use"  # "use" (USE-multilingual, pip package) or a local model directory
    llm: str = "llamacpp"  # llamacpp | transformers:/path/to/model | http://host:port/v1
    llm_model: str = ""  # model name for an http LLM server (default: the first it lists)
    llm_api_key: str = ""  # bearer token for an http LLM server

    # Ingestion limits.
    max_text_chars: int = 100_000
    ingest_batch_size: int = 5_000

    # API.
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 10 * 1024 * 1024  # 10 MB per request

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'townsquare.db'}"


# What a value of each type must look like, for the one-line error about a bad setting.
_KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false"}


def _bad_setting(exc: ValidationError) -> BadInput:
    """pydantic's multi-line report -> one line naming the environment variable, its value and the fix."""
    first = exc.errors()[0]
    name = str(first["loc"][0]) if first.get("loc") else ""
    var = f"TOWNSQUARE_{name.upper()}"
    field = Settings.model_fields.get(name)
    kind = field.annotation.__name__ if field is not None and isinstance(field.annotation, type) else ""
    default = field.default if field is not None else None
    if isinstance(default, bool):
        default = str(default).lower()
    problem = f"{first.get('input')!r} is not {_KINDS.get(kind) or 'valid'}"
    if not _KINDS.get(kind):
        problem += f" ({first.get('msg', '')})"
    return BadInput(var, problem, f"set it like {var}={default}" if default not in (None, "") else f"fix {var}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:  # a bad TOWNSQUARE_* variable (or .env line): say which, not pydantic's report
        raise _bad_setting(exc) from None
