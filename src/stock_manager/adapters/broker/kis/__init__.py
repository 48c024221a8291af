"""Korea Investment & Securities (KIS) OpenAPI client."""
