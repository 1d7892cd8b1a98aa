"""The API contract as the OpenAPI document states it: which statuses each operation answers (with the
error body's schema), which operations take an API key, and the corrections Litestar's generator
needs so the document tells the truth (exact integer bounds, bodies that forbid unknown fields,
optional bodies). tests/test_contract.py fuzzes the served document against the running API."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIResponse,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.router import Router
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.types import Method

from api.settings import Settings


class ErrorItem(msgspec.Struct, omit_defaults=True):
    message: str
    key: str | None = None  # the field: `title`, `parts[0].etag`, `video_id`
    source: str | None = None  # body, path, query or header


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every 4xx/5xx answer: `detail` says what went wrong and names the field(s) when it is input."""

    status_code: int
    detail: str
    extra: list[ErrorItem] | None = None


_ANSWERS = {
    400: "Bad input: `detail` and `extra[].key` name the field",
    401: "No valid API key (send `Authorization: Bearer <api key>`)",
    403: "The key is valid, but its user may not do this",
    404: "No such resource, or not visible to the caller",
    409: "The resource's state does not allow this now",
    413: "The body is larger than the limit",
    415: "The body is not `application/json`",
    429: "Too many requests (or failed authentications): retry after `Retry-After` seconds",
    503: "Overloaded, or the database or Redis is down: retry after `Retry-After` seconds",
}
_ALWAYS = (400, 429, 503)  # any operation: bad input, the rate limit, shedding and outages
_BODY = (413, 415)

KEY: list[dict[str, list[str]]] = [{"bearer": []}]  # the operation needs an API key
OPTIONAL_KEY: list[dict[str, list[str]]] = [{}, {"bearer": []}]  # anonymous, or a key (never a bad one)


def answers(*statuses: int, body: bool = False) -> dict[int, ResponseSpec]:
    """The error statuses an operation documents: `statuses`, plus those every operation can answer,
    plus 413/415 for operations that take a JSON body."""
    codes = sorted({*_ALWAYS, *statuses, *(_BODY if body else ())})
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_ANSWERS[code], generate_examples=False)
        for code in codes
    }


# The docs page's assets: Swagger UI 5 (it renders OpenAPI 3.1, which Litestar writes), from the
# flask-swagger-ui wheel's files (the package is not imported, Flask not used), so the page works
# offline or behind a firewall instead of loading a CDN.
_SWAGGER_SPEC = importlib.util.find_spec("flask_swagger_ui")
assert _SWAGGER_SPEC is not None and _SWAGGER_SPEC.submodule_search_locations
SWAGGER_UI = Path(_SWAGGER_SPEC.submodule_search_locations[0]) / "dist"
_ASSETS = "/schema/assets"


def docs_assets() -> Router:
    return create_static_files_router(_ASSETS, directories=[SWAGGER_UI], include_in_schema=False)


def openapi_config(**kwargs: Any) -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url=f"{_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{_ASSETS}/favicon-32x32.png'>",
    )
    return OpenAPIConfig(
        render_plugins=[swagger],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="An API key, from `POST /v1/users`"
                )
            }
        ),
        # The handler's name (`create_user`, `get_video`): what a generated client calls the function.
        operation_id_creator=_operation_id,
        **kwargs,
    )


def _operation_id(handler: HTTPRouteHandler, method: Method, components: list[Any]) -> str:
    return handler.handler_name


def _header(description: str) -> OpenAPIHeader:
    return OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER, minimum=0), description=description, required=True
    )


_RETRY_AFTER = _header("seconds to wait before retrying")
_REFUSAL_HEADERS = {
    "429": {
        "RateLimit-Limit": _header("requests allowed per window"),
        "RateLimit-Remaining": _header("requests left in this window"),
        "RateLimit-Reset": _header("seconds until the window resets"),
        "Retry-After": _RETRY_AFTER,
    },
    "503": {"Retry-After": _RETRY_AFTER},
}


def finish(app: Litestar, settings: Settings) -> None:
    """Correct the generated document in place before it is first served, and the Allow headers."""
    _allow_every_method(app)
    openapi = app.openapi_schema
    structs = {cls.__name__: cls for cls in _subclasses(msgspec.Struct)}
    for name, schema in ((openapi.components.schemas or {}) if openapi.components else {}).items():
        cls = structs.get(name)
        if cls is not None and cls.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
            defaults = msgspec.structs.fields(cls)
            if defaults and all(f.default is msgspec.UNSET for f in defaults):
                schema.min_properties = 1  # a PATCH body: an empty one changes nothing and is refused
    upload = (openapi.components.schemas or {}).get("UploadRequest") if openapi.components else None
    if upload is not None and upload.properties:
        size = upload.properties["size_bytes"]
        assert isinstance(size, Schema)
        size.maximum = settings.max_upload_bytes
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            operation = getattr(path_item, method)
            if operation is None:
                continue
            for status, response in (operation.responses or {}).items():
                if isinstance(response, OpenAPIResponse) and status in _REFUSAL_HEADERS:
                    response.headers = dict(_REFUSAL_HEADERS[status])
            body = operation.request_body
            if isinstance(body, RequestBody):
                for media in body.content.values():
                    if isinstance(media.schema, Schema) and _accepts_null(media.schema):
                        # `data: X | None = None`: no body, or an X (not `null`: api.bodies refuses it)
                        body.required = False
                        media.schema = next(s for s in media.schema.one_of or [] if not _is_null(s))
    for schema in _schemas(openapi):
        _exact_bounds(schema)


def _allow_every_method(app: Litestar) -> None:
    """Litestar 2's automatic OPTIONS answer lists only the methods of the route object it was made
    for; when handlers for one path come from several registrations, that is an earlier, partial
    route (`OPTIONS /v1/videos/2` said `DELETE, OPTIONS`; litestar#4169, fixed in v3). Point each
    such handler at the final route, whose methods are complete."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.handler_name != "options_handler" or handler.fn.__closure__ is None:
                continue
            for cell in handler.fn.__closure__:
                if isinstance(cell.cell_contents, HTTPRoute):
                    cell.cell_contents = route


def _is_null(schema: Schema | Reference) -> bool:
    return isinstance(schema, Schema) and schema.type == OpenAPIType.NULL


def _accepts_null(schema: Schema) -> bool:
    return len(schema.one_of or []) == 2 and any(_is_null(s) for s in schema.one_of or [])


def _exact_bounds(schema: Schema) -> None:
    """Litestar writes every bound as a float; integers' bounds are published as integers (ids'
    2^63-1 comes from the parameters' schema_extra, since a float cannot hold it)."""
    for name in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
        value = getattr(schema, name)
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            setattr(schema, name, int(value))


def _schemas(node: Any) -> Iterator[Schema]:
    """Every Schema object in the document, however deeply nested."""
    if isinstance(node, Schema):
        yield node
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            yield from _schemas(getattr(node, field.name))
    elif isinstance(node, dict):
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _schemas(value)


def _subclasses(cls: type[Any]) -> Iterator[type[Any]]:
    sub: type[Any]
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
