"""Which handler serves which endpoint (by :attr:`Endpoint.name`).

The one place to register a new API: write its handler ``(Ctx) -> Reply`` in a new module,
add its :class:`~stock_manager.emulator.endpoints.Endpoint` to ``endpoints.ENDPOINTS`` and
merge the module's ``HANDLERS`` dict here.
"""

from __future__ import annotations

from collections.abc import Callable

from stock_manager.emulator import handlers, holiday
from stock_manager.emulator.handlers import Ctx, Reply

# One dict object (handlers.HANDLERS itself), so patching either name in a test patches both.
HANDLERS: dict[str, Callable[[Ctx], Reply]] = handlers.HANDLERS
HANDLERS.update(holiday.HANDLERS)
