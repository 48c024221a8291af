"""Tool registration: error handling, annotations and the argument allowlist in one place.

Every tool is an ``async`` function whose parameters are its arguments. :class:`Registry`
registers it on the SDK server and wraps it so that no exception escapes as a traceback: a
library error becomes ``{"error": ..., "message": ...}``, a refusal
``{"refused": true, "reason": ...}``. It also records each tool's parameter names, which
:func:`refuse_unknown_arguments` (server middleware) uses to refuse a call with an argument the
tool does not have (the SDK itself would silently ignore it).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations

from .confirmations import ConfirmationError
from .limits import LimitRefusal
from .runtime import Runtime, error_result, refused

__all__ = ["Registry", "ToolRefusal"]

log = logging.getLogger("stock_manager.mcp")
ToolFn = Callable[..., Awaitable[CallToolResult]]


class ToolRefusal(Exception):
    """A tool refuses and sends nothing; ``reason`` is a short code (e.g. ``order_tr_id``)."""

    def __init__(self, reason: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.extra = extra


class Registry:
    """The tools of one server."""

    def __init__(self, server: MCPServer, rt: Runtime) -> None:
        self.server = server
        self.rt = rt
        self.arguments: dict[str, frozenset[str]] = {}

    def add(self, fn: ToolFn, *, read_only: bool, description: str | None = None) -> None:
        """Register ``fn`` under its own name (``destructive`` unless ``read_only``)."""
        name = fn.__name__
        params = inspect.signature(fn).parameters
        self.arguments[name] = frozenset(p for p in params if p != "ctx")
        self.server.add_tool(
            _guarded(self.rt, name, fn),
            name=name,
            description=description or inspect.getdoc(fn),
            annotations=ToolAnnotations(
                read_only_hint=read_only,
                destructive_hint=not read_only,
                idempotent_hint=read_only,
                open_world_hint=True,
            ),
            structured_output=False,  # each tool builds its CallToolResult (structured + text)
        )

    async def refuse_unknown_arguments(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Server middleware: a ``tools/call`` with an argument the tool lacks is refused."""
        params = ctx.params
        if ctx.method == "tools/call" and isinstance(params, dict):
            name = params.get("name")
            args = params.get("arguments")
            allowed = self.arguments.get(name) if isinstance(name, str) else None
            if allowed is not None and isinstance(args, dict):
                unknown = sorted(str(k) for k in args if k not in allowed)
                if unknown:
                    result = refused(
                        self.rt,
                        "unknown_arguments",
                        f"{name} has no argument(s) {', '.join(unknown)}"
                        f" (it takes: {', '.join(sorted(allowed)) or 'none'})",
                    )
                    return result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return await call_next(ctx)


def _guarded(rt: Runtime, name: str, fn: ToolFn) -> ToolFn:
    @functools.wraps(fn)
    async def tool(*args: Any, **kwargs: Any) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except ToolRefusal as exc:
            return refused(rt, exc.reason, str(exc), **exc.extra)
        except LimitRefusal as exc:
            return refused(rt, "limit", str(exc), limit=exc.limit)
        except ConfirmationError as exc:
            return refused(rt, f"token_{exc.reason}", str(exc))
        except Exception as exc:  # every error becomes data; no traceback reaches the client
            from stock_manager.adapters.broker.kis.errors import KISError

            if not isinstance(exc, KISError | ValueError | KeyError | LookupError):
                log.error("tool %s failed: %s", name, rt.scrub(f"{type(exc).__name__}: {exc}"))
            return error_result(rt, exc)

    return tool
