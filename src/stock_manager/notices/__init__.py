"""Real-time notices over the KIS WebSocket: fills as they happen, with REST as the truth.

``NoticeSession`` (async) / ``NoticeStream`` (blocking) subscribe to the execution notice
(H0STCNI0, H0STCNI9 in paper mode) and any catalogued WebSocket TR, and yield typed events
(:mod:`stock_manager.notices.events`). See ``session.py`` for what is handled and why.
"""

from stock_manager.notices.approval import ApprovalError, ApprovalKeys
from stock_manager.notices.events import (
    Connected,
    Disconnected,
    ErrorEvent,
    Event,
    ExecutionEvent,
    GenericEvent,
    PriceEvent,
    Reconciled,
    SubscriptionEvent,
)
from stock_manager.notices.session import (
    MAX_REGISTRATIONS,
    NoticeError,
    NoticeLimitError,
    NoticeSession,
    NoticeStream,
    Subscription,
    ws_url,
)

__all__ = [
    "MAX_REGISTRATIONS",
    "ApprovalError",
    "ApprovalKeys",
    "Connected",
    "Disconnected",
    "ErrorEvent",
    "Event",
    "ExecutionEvent",
    "GenericEvent",
    "NoticeError",
    "NoticeLimitError",
    "NoticeSession",
    "NoticeStream",
    "PriceEvent",
    "Reconciled",
    "Subscription",
    "SubscriptionEvent",
    "ws_url",
]
