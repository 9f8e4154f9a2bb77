"""The API docs page's readable schemas: each schema as rows of field, type and notes."""

from __future__ import annotations

from markupsafe import Markup, escape

CONSTRAINTS = (
    ("minLength", "min length {}"), ("maxLength", "max length {}"), ("minimum", "≥ {}"),
    ("maximum", "≤ {}"), ("exclusiveMinimum", "> {}"), ("exclusiveMaximum", "< {}"),
    ("minItems", "at least {} items"), ("maxItems", "at most {} items"), ("pattern", "matches {}"),
    ("format", "{}"), ("default", "default {}"),
)  # fmt: skip


def _ref(name: str) -> Markup:
    return Markup('<a href="#schema-{0}"><code>{0}</code></a>').format(name)


def type_html(schema: dict) -> Markup:
    """A schema's type in words: ``string``, ``list of LeadIn``, ``integer or null``…"""
    if "$ref" in schema:
        return _ref(schema["$ref"].rsplit("/", 1)[-1])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return Markup(" or ").join(type_html(s) for s in schema[key])
    if "enum" in schema:
        return Markup("one of ") + Markup(", ").join(
            Markup("<code>{}</code>").format(v) for v in schema["enum"]
        )
    if "const" in schema:
        return Markup("<code>{}</code>").format(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return Markup(" or ").join(type_html({**schema, "type": k}) for k in kind)
    if kind == "array":
        return Markup("list of ") + type_html(schema.get("items") or {})
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        keys = schema.get("propertyNames") or {"type": "string"}
        return (
            Markup("map of ")
            + type_html(keys)
            + Markup(" to ")
            + type_html(schema["additionalProperties"])
        )
    return Markup("{}").format(kind or "any")


def _notes(schema: dict) -> str:
    notes = [text.format(schema[key]) for key, text in CONSTRAINTS if key in schema]
    for option in schema.get("anyOf", []):
        notes += [text.format(option[key]) for key, text in CONSTRAINTS if key in option]
    return "; ".join(notes)


def schema_rows(schema: dict) -> list[dict]:
    """``[{"name", "type", "required", "description", "notes"}]`` for an object schema."""
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_html(prop),
            "required": name in required,
            "description": prop.get("description", ""),
            "notes": _notes(prop),
        }
        for name, prop in (schema.get("properties") or {}).items()
    ]


def body_schema(operation: dict) -> str | None:
    """The request body's schema name, if it is a named one."""
    content = (operation.get("requestBody") or {}).get("content", {})
    schema = (content.get("application/json") or {}).get("schema") or {}
    return schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else None


def response_schema(response: dict) -> str | None:
    content = (response or {}).get("content", {})
    schema = (content.get("application/json") or {}).get("schema") or {}
    return schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else None


__all__ = ["body_schema", "escape", "response_schema", "schema_rows", "type_html"]
