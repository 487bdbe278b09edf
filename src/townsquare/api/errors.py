"""One error shape for every failure: `{"error": "<field>: <problem> — <fix>"}`.

Validation errors become one readable line per problem (the first few also listed under `errors`), so a
person reading a response, a log or a dashboard toast knows which field to change and how.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from townsquare.errors import BadInput, NotFound, TownsquareError

MAX_LINES = 10  # a batch with 10,000 bad items gets the first few and a count, not a 2 MB error

ISO_EXAMPLE = "use ISO 8601, e.g. 2026-11-28T14:10:08Z"
POSTS_EXAMPLE = '[{"id": "1", "text": "hello", "author": "alice", "created_at": "2026-11-28T14:10:08Z"}]'

_FIXES: dict[str, str] = {
    "missing": "add it",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "bool_parsing": "use true or false",
    "datetime_parsing": ISO_EXAMPLE,
    "datetime_from_date_parsing": ISO_EXAMPLE,
    "datetime_type": ISO_EXAMPLE,
    "string_type": "use a string",
    "dict_type": "send a JSON object",
    "model_attributes_type": "send a JSON object",
    "list_type": "send a JSON list",
    "extra_forbidden": "remove it",
}


def field_name(loc: tuple | list) -> str:
    """('query', 'limit') -> 'limit'; ('body', 3, 'text') -> 'body[3].text'."""
    parts = list(loc)
    if parts and parts[0] in ("query", "path", "header", "cookie"):
        parts = parts[1:]
    if not parts:
        return "body"
    out = str(parts[0])
    for p in parts[1:]:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _fix(err: dict[str, Any]) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    loc = tuple(err.get("loc", ()))
    if kind == "json_invalid":
        return "send valid JSON (check quotes, commas and brackets)"
    if loc == ("body",) and isinstance(err.get("input"), bytes | str):
        return "send JSON with the header Content-Type: application/json"
    if loc == ("body",) and kind in ("list_type", "missing"):
        return f"send a JSON list of objects, e.g. {POSTS_EXAMPLE}"
    if kind in ("less_than_equal", "less_than", "greater_than_equal", "greater_than"):
        sign = {"less_than_equal": "≤", "less_than": "<", "greater_than_equal": "≥", "greater_than": ">"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"use a value {sign} {bound}"
    if kind == "string_too_long":
        return f"use at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"use at least {ctx.get('min_length')} character(s)"
    if kind in ("literal_error", "enum"):
        return f"use one of {ctx.get('expected', 'the documented values')}"
    return _FIXES.get(kind, "see /docs for the expected shape")


def _problem(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        where = err["loc"][1] if len(err.get("loc", ())) > 1 else "?"
        return f"invalid JSON at character {where} ({(err.get('ctx') or {}).get('error', 'decode error')})"
    if err.get("type") == "missing":
        return "is required"
    given = err.get("input")
    shown = repr(given) if isinstance(given, str | int | float) and len(repr(given)) <= 60 else None
    if err.get("type") in ("literal_error", "enum"):
        return f"{shown or 'this value'} is not one of the choices"
    msg = str(err.get("msg", "is invalid"))
    msg = msg[:1].lower() + msg[1:]
    return f"{msg} (got {shown})" if shown is not None else msg


def describe(err: dict[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    name = "body" if err.get("type") == "json_invalid" else field_name(loc)
    return f"{name}: {_problem(err)} — {_fix(err)}"


def error_response(status: int, message: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errs = list(exc.errors())
    lines = [describe(e) for e in errs[:MAX_LINES]]
    if len(errs) > MAX_LINES:
        lines.append(f"... and {len(errs) - MAX_LINES} more problems of the same kind")
    return error_response(422, "; ".join(lines), errors=lines)


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"path: nothing at {request.url.path} — see /docs for the API's paths"
    elif exc.status_code == 405 and message == "Method Not Allowed":
        message = f"method: {request.method} is not allowed on {request.url.path} — see /docs"
    return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _townsquare(_request: Request, exc: TownsquareError) -> JSONResponse:
    status = 400 if isinstance(exc, BadInput) else 404 if isinstance(exc, NotFound) else 500
    return error_response(status, str(exc))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this response, so the server logs the traceback once.
    return error_response(
        500, f"server: internal error ({type(exc).__name__}) — see the server log; please report this as a bug"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(TownsquareError, _townsquare)
    app.add_exception_handler(Exception, _unexpected)
