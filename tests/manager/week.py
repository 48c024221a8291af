"""The declared week both simulated-week tests (library and CLI) run."""

from __future__ import annotations

ORDER_ENDPOINTS = ("order-resv", "order-resv-rvsecncl", "order-rvsecncl")

SPEC = """
name = "week"

[[reservation]]
id = "samsung-dip"
symbol = "005930"
side = "buy"
qty = 10
price = 69000

[[reservation]]
id = "hynix-add"
symbol = "000660"
side = "buy"
qty = 10
price = 180000
renew = true

[[reservation]]
id = "naver-trim"
symbol = "035420"
side = "sell"
qty = 4
price = 200000
renew = true
"""
