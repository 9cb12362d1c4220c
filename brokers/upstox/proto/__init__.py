"""Upstox's v3 market-data feed schema, vendored (the SDK itself is not a dependency)."""
