"""Streamable HTTP transport: 127.0.0.1 only, every request needs the bearer token.

There is no host option: the server binds the loopback interface and nothing else. The token
comes from ``STOCK_MANAGER_MCP_TOKEN`` or is generated and written to a private file (0600)
whose *path* is printed at start (the token itself is never logged). The check is a small ASGI
wrapper (constant-time compare) rather than the SDK's OAuth machinery, which is built for an
authorization server this local, single-user server does not have.
"""

from __future__ import annotations

import hmac
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from .runtime import Runtime

__all__ = ["HOST", "BearerGate", "load_or_create_token", "serve_http"]

HOST = "127.0.0.1"
TOKEN_ENV = "STOCK_MANAGER_MCP_TOKEN"
MIN_TOKEN_LEN = 32

Scope = dict[str, Any]


class BearerGate:
    """ASGI wrapper: HTTP requests without ``Authorization: Bearer <token>`` get 401."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="stock-manager"'),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error":"unauthorized"}'})
                return
        await self.app(scope, receive, send)


def load_or_create_token(state_dir: Path) -> tuple[str, str]:
    """``(token, where)``: from the environment, else a private file (created if missing)."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        if len(env) < MIN_TOKEN_LEN:
            raise ValueError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_LEN} characters")
        return env, f"${TOKEN_ENV}"
    path = state_dir / "mcp-http-token"
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= MIN_TOKEN_LEN:
            return token, str(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token, str(path)


async def serve_http(rt: Runtime, port: int, token: str) -> None:
    """Serve Streamable HTTP on 127.0.0.1:``port`` (0: any free port) until stopped."""
    import uvicorn

    from .server import build_server

    server, _ = build_server(rt)
    app = BearerGate(server.streamable_http_app(host=HOST), token)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sys.stderr.write(f"listening on http://{HOST}:{sock.getsockname()[1]}/mcp\n")
    sys.stderr.flush()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    try:
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        sock.close()
        rt.close()
