"""``KISRestClient`` and ``AsyncKISRestClient``: one request core, two I/O drivers.

Everything that decides anything — TR_ID resolution, the paper-mode refusal, headers, the rate
limiter, tokens, classification of what came back, whether to retry, the order journal — lives
in :class:`~.request_core.RequestCore` and is written once as flows (see
:mod:`stock_manager.adapters.broker.kis._flow`). The two public clients only own an httpx client
and drive the flows with blocking calls or with ``await``.

The modules, by role:

* :mod:`.request_core`: :class:`PreparedCall` and the request core (preparing, headers,
  retries, error mapping, the journal hooks); no I/O;
* :mod:`.paging`: the continuation rules of paged inquiries;
* :mod:`.base`: what both clients share (settings, ``prepare``/``describe``, the flows);
* :mod:`.sync_client` and :mod:`.async_client`: the two thin drivers.

``from stock_manager.adapters.broker.kis.client import KISRestClient`` is the public path.
"""

from __future__ import annotations

from .async_client import AsyncKISRestClient
from .request_core import PreparedCall
from .sync_client import KISRestClient

__all__ = ["AsyncKISRestClient", "KISRestClient", "PreparedCall"]
