"""Writing responses the way KIS does on the wire.

KIS sends standard headers in canonical case (``Content-Type``, ``Content-Length``, ``Date``)
and only its own ``tr_id``, ``tr_cont`` and ``gt_uid`` in lower case. The official sample
(``kis_auth.APIResp``) turns every all-lower-case response header name into a namedtuple field,
so a lower-case ``content-type`` (not an identifier) crashes it. Starlette's ``Response``
lower-cases every name, so the emulator builds the ASGI messages itself; uvicorn's httptools
protocol lower-cases names too, so the server re-cases them on the way out
(:mod:`stock_manager.emulator.protocol`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import formatdate

from starlette.types import Send

JSON_TYPE = b"application/json; charset=utf-8"
HTML_TYPE = b"text/html; charset=utf-8"
DETAIL_HEADER = "X-Emulator-Detail"

_date_cache: tuple[int, bytes] = (0, b"")


def http_date(now: float | None = None) -> bytes:
    """RFC 7231 date of ``now`` (POSIX seconds; default the machine's time), cached per second.

    The emulator passes its own clock: a server's ``Date`` and the receipt times in its book
    are on one clock, as at KIS, so a client measuring skew from ``Date`` sees the truth.
    """
    global _date_cache
    second = int(time.time() if now is None else now)
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, usegmt=True).encode("ascii"))
    return _date_cache[1]


def header_value(text: str) -> bytes:
    """A header value that is always valid latin-1 without control characters."""
    if text.isascii() and text.isprintable():  # the usual case, without a per-char loop
        return text[:300].encode("ascii")
    clean = "".join(ch if " " <= ch < "\x7f" else "?" for ch in text)
    return clean[:300].encode("latin-1")


async def send_bytes(
    send: Send,
    status: int,
    content: bytes,
    extra: Mapping[str, str] | None = None,
    content_type: bytes = JSON_TYPE,
    now: float | None = None,
) -> None:
    """Send one complete response with canonical-case standard headers.

    ``extra`` names are sent as given: KIS's own ``tr_id``/``tr_cont``/``gt_uid`` lower-case,
    ``X-Emulator-Detail`` capitalised. ``now`` is the ``Date`` to send (the emulator's clock).
    """
    headers = [
        (b"Date", http_date(now)),
        (b"Content-Type", content_type),
        (b"Content-Length", str(len(content)).encode("ascii")),
    ]
    if extra:
        for name, value in extra.items():
            headers.append((name.encode("latin-1"), header_value(value)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
