"""uvicorn's fast (httptools) HTTP protocol, writing header names in KIS's case.

uvicorn's httptools protocol lower-cases every response header name before writing it, and
KIS sends standard headers in canonical case (``Content-Type``); clients shaped like the
official sample crash on a lower-case ``content-type`` (see :mod:`stock_manager.emulator.wire`).
uvicorn's h11 protocol keeps the application's case but costs about a third of the list
endpoint's throughput (``bench/bench_emulator.py``), so this subclass keeps httptools and
wraps the connection's transport: the one write that carries a response head (it starts
with the status line) gets its header names re-cased on the way out - KIS's own ``tr_id``,
``tr_cont`` and ``gt_uid`` stay lower case, everything else becomes ``Canonical-Case``.
Bodies pass through untouched. ``tests/emulator/test_wire.py`` checks the bytes on a raw
socket, so a uvicorn change that bypassed this would fail there.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

KIS_LOWER = frozenset({b"tr_id", b"tr_cont", b"gt_uid"})
_HEAD_END = b"\r\n\r\n"


@functools.lru_cache(maxsize=64)
def canonical_name(name: bytes) -> bytes:
    """``content-type`` → ``Content-Type``; KIS's own lower-case names are kept."""
    if name in KIS_LOWER:
        return name
    return b"-".join(part[:1].upper() + part[1:] for part in name.split(b"-"))


def recase_head(data: bytes) -> bytes:
    """Re-case the header names of a response head (status line + headers)."""
    head, sep, rest = data.partition(_HEAD_END)
    lines = head.split(b"\r\n")
    for i in range(1, len(lines)):
        name, colon, value = lines[i].partition(b":")
        if colon:
            lines[i] = canonical_name(name) + colon + value
    return b"\r\n".join(lines) + sep + rest


class _RecasingTransport:
    """Delegates everything to the real transport; re-cases response heads in ``write``."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if data[:5] == b"HTTP/":
            data = recase_head(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class KisCaseHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` whose responses carry KIS-cased header names."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_RecasingTransport(transport))  # type: ignore[arg-type]
