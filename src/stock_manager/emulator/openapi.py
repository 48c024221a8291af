"""OpenAPI 3 document generated from the endpoint and field tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stock_manager.emulator.endpoints import ENDPOINTS, Endpoint
from stock_manager.emulator.fields import COMMON_HEADERS, Field
from stock_manager.emulator.messages import code_table_markdown

if TYPE_CHECKING:
    from stock_manager.emulator.config import EmulatorConfig


def _prop(f: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "title": f.korean}
    if f.length:
        schema["maxLength"] = f.length
    if f.allowed:
        schema["enum"] = list(f.allowed)
    if f.description:
        schema["description"] = f.description
    return schema


def _object(table: tuple[Field, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _prop(f) for f in table},
    }
    required = [f.name for f in table if f.required]
    if required:
        schema["required"] = required
    return schema


_ENVELOPE = {
    "rt_cd": {"type": "string", "title": "성공 실패 여부", "description": '"0" = success'},
    "msg_cd": {"type": "string", "title": "응답코드"},
    "msg1": {"type": "string", "title": "응답메세지", "description": "space padded"},
}


def _operation(ep: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": ep.title, "operationId": ep.name.replace("-", "_")}
    params: list[dict[str, Any]] = []
    if ep.gated:
        for h in COMMON_HEADERS:
            schema = _prop(h)
            if h.name == "tr_id":
                schema["enum"] = list(ep.tr_ids)
            params.append(
                {"name": h.name, "in": "header", "required": h.required, "schema": schema}
            )
    if ep.request_in == "query":
        params += [
            {"name": f.name, "in": "query", "required": f.required, "schema": _prop(f)}
            for f in ep.request
        ]
    elif ep.request:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _object(ep.request)}},
        }
    elif ep.name == "hashkey":
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    if params:
        op["parameters"] = params
    if ep.gated:
        props: dict[str, Any] = dict(_ENVELOPE)
        props.update({f.name: _prop(f) for f in ep.top_level})
        out = _object(ep.output)
        props["output"] = {"type": "array", "items": out} if ep.output_is_array else out
        ok: dict[str, Any] = {"type": "object", "properties": props}
    else:
        ok = _object(ep.top_level)
    response: dict[str, Any] = {
        "description": "success (rt_cd 0) or business rejection (rt_cd != 0)",
        "content": {"application/json": {"schema": ok}},
    }
    if ep.paged:
        response["headers"] = {
            "tr_cont": {
                "schema": {"type": "string", "enum": ["F", "M", "D"]},
                "description": "F first page with more, M middle page, D last page",
            }
        }
    error_schema = {"type": "object", "properties": dict(_ENVELOPE)}
    op["responses"] = {
        "200": response,
        "403" if not ep.gated else "500": {
            "description": "token endpoint error" if not ep.gated else "gateway error",
            "content": {"application/json": {"schema": error_schema}},
        },
    }
    return op


def build_openapi(config: EmulatorConfig | None = None) -> dict[str, Any]:
    """The OpenAPI 3.0 document for every served KIS endpoint."""
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    mode = config.mode if config else "real"
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "KIS OpenAPI emulator (stock_manager.emulator)",
            "version": "1",
            "description": f"Mode: {mode}. Response codes:\n\n{code_table_markdown()}",
        },
        "paths": paths,
    }
