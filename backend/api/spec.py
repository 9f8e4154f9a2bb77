"""One set of pydantic schemas drives request validation and the OpenAPI document.

Views declare their schemas with ``@validated(...)``; the OpenAPI document is built
from the app's URL map by reading those declarations, so the two never drift apart.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, jsonify, request
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from backend.errors import ApiError


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = Field(default_factory=list)


class ErrorOut(BaseModel):
    error: ErrorBody


class _NonFinite(str):
    """A NaN or infinite number read from a body (its text as sent)."""


NON_FINITE = "NaN and Infinity are not JSON numbers; send null or a finite number."


def _non_finite_paths(data: Any, keep_as_text: bool) -> list[str]:
    """Where ``data`` holds a ``_NonFinite``; with ``keep_as_text`` they become plain strings.

    Iterative: a document nested a thousand levels deep must not overflow the stack.
    """
    found = []
    stack = [(data, "")]
    while stack:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, _NonFinite):
                found.append(where)
                if keep_as_text:
                    node[key] = str(value)
            elif isinstance(value, dict | list):
                stack.append((value, where))
    return sorted(found)


# What a UTF-8 body needs to hold a number Python would read as NaN or infinite: the two
# words, an exponent (1e400), or more digits than a finite double has (10…0.0; a run is
# looked at from its first digit only). Anything that merely looks like one (inside a
# string) only takes the slower, hooked parse, and so does a body in UTF-16 or UTF-32,
# which Python reads too and whose bytes this does not spell.
_MAY_NOT_BE_FINITE = re.compile(rb"NaN|Infinity|[0-9][eE]|(?<![0-9])[0-9]{300}")


def _json_body(*, keep_non_finite_as_text: bool) -> Any:
    """The request's JSON document.

    Python's json (and so Flask) reads ``NaN``, ``Infinity`` and ``1e400`` as floats no
    database column or JSON reply can hold. A body that validates item by item (lead
    capture) keeps them as text, so the lead is stored and its bad field flagged; any
    other body is refused with the fields named.
    """
    if not request.is_json:
        raise ApiError(422, "invalid_json", "The body must be a JSON document.")
    seen: list[_NonFinite] = []  # the walk below is needed only when one was read

    def non_finite(text: str) -> _NonFinite:
        seen.append(_NonFinite(text))
        return seen[-1]

    def parse_float(text: str) -> float | _NonFinite:
        value = float(text)
        return value if math.isfinite(value) else non_finite(text)  # 1e400 reads as inf

    raw = request.get_data(cache=True)
    try:
        if json.detect_encoding(raw) == "utf-8" and _MAY_NOT_BE_FINITE.search(raw) is None:
            data = json.loads(raw)  # the module's one decoder: no number in it can overflow
        else:
            data = json.loads(raw, parse_float=parse_float, parse_constant=non_finite)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ApiError(422, "invalid_json", "The body must be a JSON document.") from None
    if data is None:
        raise ApiError(422, "invalid_json", "The body must be a JSON document.")
    if isinstance(data, _NonFinite):
        raise ApiError(422, "invalid_json", NON_FINITE)
    if seen and isinstance(data, dict | list):
        paths = _non_finite_paths(data, keep_non_finite_as_text)
        if paths and not keep_non_finite_as_text:
            fields = [{"field": path, "message": NON_FINITE} for path in paths[:20]]
            raise ApiError(422, "invalid", "The request has invalid fields.", fields)
    return data


def validated(
    *,
    body: type[BaseModel] | None = None,
    parse_body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    extra_responses: dict[int, type[BaseModel] | None] | None = None,
    summary: str = "",
) -> Callable:
    """Parse the JSON body into ``body`` (passed as ``body=``) and the query string
    into ``query`` (passed as ``query=``); raise 422 with each field's error.

    ``parse_body`` parses with a more lenient model than the documented ``body`` —
    for batch endpoints that validate each item on its own (and keep what is bad).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if body is not None:
                data = _json_body(keep_non_finite_as_text=parse_body is not None)
                kwargs["body"] = (parse_body or body).model_validate(data)
            if query is not None:
                kwargs["query"] = query.model_validate(request.args.to_dict())
            result = view(*args, **kwargs)
            return _serialize(result, response, extra_responses or {})

        wrapper.api_spec = {
            "body": body,
            "query": query,
            "response": response,
            "status": status,
            "extra_responses": extra_responses or {},
            "summary": summary or (view.__doc__ or "").strip().split("\n")[0],
        }
        return wrapper

    return decorator


def _serialize(result, response, extra_responses):
    """Shape a view's dict through its declared response model, so replies match the schema."""
    status = None
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, dict):
        model = extra_responses.get(status) or response
        if model is not None:
            # One pass in pydantic's serialiser (no dict of JSON values, no json.dumps):
            # the same JSON, with the text as UTF-8 rather than as \u escapes.
            body = model.model_validate(result).model_dump_json()
            result = current_app.response_class(body + "\n", mimetype=current_app.json.mimetype)
        else:
            result = jsonify(result)
    return result if status is None else (result, status)


_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []
    for match in _CONVERTER.finditer(rule):
        kind = {"int": "integer", "float": "number"}.get(match.group("conv") or "", "string")
        schema: dict[str, Any] = {"type": kind}
        if kind == "integer":
            schema.update(minimum=0, maximum=2**31 - 1)  # the ``int`` converter's range
        params.append(
            {"name": match.group("name"), "in": "path", "required": True, "schema": schema}
        )
    return _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", rule), params


def _query_params(model: type[BaseModel], schema: dict) -> list[dict]:
    params = []
    for name, prop in schema.get("properties", {}).items():
        params.append(
            {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", []),
                "schema": prop,
            }
        )
    return params


def _inline_defs(schema: dict) -> dict:
    """Move pydantic's ``$defs`` of a query model inline (parameters cannot use $defs)."""
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.split("/")[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def build_openapi(app: Flask) -> dict:
    """The OpenAPI 3.1 document for every ``/api/v1`` view that declares its schemas."""
    operations = []
    models: set[type[BaseModel]] = {ErrorOut}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        view = app.view_functions[rule.endpoint]
        spec = getattr(view, "api_spec", None)
        if spec is None:
            continue
        for model in (spec["body"], spec["response"], *spec["extra_responses"].values()):
            if model is not None:
                models.add(model)
        operations.append((rule, view, spec))

    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    components = defs.get("$defs", {})

    paths: dict[str, dict] = {}
    for rule, view, spec in sorted(operations, key=lambda item: item[0].rule):
        path, params = _openapi_path(rule.rule)
        if spec["query"] is not None:
            params += _query_params(spec["query"], _inline_defs(spec["query"].model_json_schema()))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule, view, spec, method, params
            )

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LeadRelay API",
            "version": "1",
            "description": "Event lead capture, routing and follow-up. Errors share one shape: "
            '{"error": {"code", "message", "fields"}}.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _responses(spec: dict, roles: tuple) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    declared = {spec["status"]: spec["response"], **spec["extra_responses"]}
    for code, model in declared.items():
        content = {"content": {"application/json": {"schema": _ref(model)}}} if model else {}
        responses[str(code)] = {"description": "OK" if code < 300 else "See schema", **content}
    for code, text in _error_codes(spec, roles).items():
        responses.setdefault(
            str(code),
            {"description": text, "content": {"application/json": {"schema": _ref(ErrorOut)}}},
        )
    return responses


def _operation(rule, view, spec: dict, method: str, params: list[dict]) -> dict[str, Any]:
    roles = getattr(view, "allowed_roles", ())
    operation: dict[str, Any] = {
        "operationId": f"{rule.endpoint}_{method.lower()}",
        "summary": spec["summary"],
        "tags": [rule.endpoint.split(".")[0]],
        "parameters": params,
        "responses": _responses(spec, roles),
        "security": [],
    }
    if roles and "public" not in roles:
        operation["security"] = [{"session": []}, {"bearer": []}]
        operation["description"] = "Roles: " + ", ".join(roles)
    if spec["body"] is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec["body"])}},
        }
    return operation


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error_codes(spec: dict, roles: tuple) -> dict[int, str]:
    codes: dict[int, str] = {400: "Bad request", 404: "Not found", 503: "Database unavailable"}
    if spec["body"] is not None or spec["query"] is not None:
        codes[422] = "Invalid fields"
        codes[413] = "Body too large"
    if roles and "public" not in roles:
        codes[401] = "Not signed in"
        codes[403] = "Role not allowed"
    else:
        codes[429] = "Too many requests"
    return codes
