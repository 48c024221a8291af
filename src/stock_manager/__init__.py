"""stock-manager: a typed toolkit for the Korea Investment & Securities (KIS) OpenAPI."""

__version__ = "0.1.0"
