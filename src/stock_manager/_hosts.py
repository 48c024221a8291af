"""Which host a base URL names: KIS's own servers or anything else (an emulator).

Shared by the CLI and the MCP server (below both); no KIS library import, so a command's
start-up does not pay for it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["is_kis_host"]


def is_kis_host(url: str) -> bool:
    """True for the real (and paper) KIS servers; False for an emulator or any other host."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "koreainvestment.com" or host.endswith(".koreainvestment.com")
