"""JSON request bodies, checked strictly before Litestar parses them.

Litestar converts a body with msgspec in lax mode, so `{"size_bytes": "10"}` passed as 10, and it
decodes without a target type first, so a body nested ~1000 levels deep hit Python's recursion
limit (a 500). Here every JSON body is decoded once into the handler's own type with
`strict=True`: the wrong type, an unknown field or a number out of range is a 400 naming the field,
nesting is bounded by the type itself (the first unexpected `[` stops the decoder), and a body that
is not `application/json` is a 415. Litestar then parses the same bytes, which are known good."""

from __future__ import annotations

import re
from typing import Any, Union, get_args

import msgspec
from litestar import Request
from litestar.exceptions import ClientException

from api.domain.errors import InvalidInput

MAX_DEPTH = 32  # no body of this API nests deeper than 3
_PATH = re.compile(r" - at `\$(.*)`$")
_UNKNOWN = re.compile(r"Object contains unknown field `(.+)`")
_MISSING = re.compile(r"Object missing required field `(.+)`")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _where(message: str) -> tuple[str, str]:
    """msgspec's message split into (field path, what is wrong): `$.parts[0].etag` -> `parts[0].etag`."""
    match = _PATH.search(message)
    path = match.group(1).lstrip(".") if match else ""
    text = message[: match.start()] if match else message
    named = _UNKNOWN.match(text) or _MISSING.match(text)
    if named:  # the field is in the message, its parent in the path
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path or "body", text


async def check_body(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: refuses a bad JSON body before any handler work or database call."""
    field = request.route_handler.parsed_data_field
    if field is None:
        return
    body = await request.body()  # over the size limit: 413 from Litestar
    if not body.strip():
        if not field.is_optional:
            raise InvalidInput("body", "a JSON body is required")
        return
    content_type = request.content_type[0]
    if not _is_json(content_type):
        raise ClientException(
            status_code=415, detail=f"send the body as application/json, not {content_type or 'untyped'}"
        )
    # An optional body is absent or an object, never `null` (the document says so).
    target = _without_none(field.annotation) if field.is_optional else field.annotation
    try:
        msgspec.json.decode(body, type=target, strict=True)
    except msgspec.ValidationError as exc:
        if "got `float`" not in str(exc):
            raise _named(exc) from exc
        # JSON Schema counts 5.0 as an integer, so the document allows it: the same check again,
        # with integral numbers as ints (Litestar's own parse accepts them too).
        try:
            msgspec.convert(_integral(msgspec.json.decode(body), MAX_DEPTH), target, strict=True)
        except msgspec.ValidationError as again:
            raise _named(again) from again
        except RecursionError as deep:
            raise InvalidInput("body", "nested too deeply") from deep
    except msgspec.DecodeError as exc:
        raise InvalidInput("body", f"not valid JSON ({exc})") from exc
    except RecursionError as exc:  # a type with free-form values: nesting still has a limit
        raise InvalidInput("body", "nested too deeply") from exc


def _without_none(annotation: Any) -> Any:
    kept = [t for t in get_args(annotation) if t is not type(None)]
    return Union[tuple(kept)] if len(kept) > 1 else kept[0]  # noqa: UP007


def _named(exc: msgspec.ValidationError) -> Exception:
    path, problem = _where(str(exc))
    return InvalidInput(path, problem)


def _integral(value: Any, depth: int) -> Any:
    if depth <= 0:
        raise InvalidInput("body", f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v, depth - 1) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v, depth - 1) for k, v in value.items()}
    return value
