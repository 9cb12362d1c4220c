"""Brokers as the engine sees them: one protocol, typed errors, and the 2026 order rules.

`protocol.Broker` is what paper, Zerodha and Upstox adapters (in `brokers/`) implement;
`gateway.OrderGateway` is the only way orders reach one (rate limit, market protection,
reconcile-by-tag instead of blind retries, the audit log). No broker SDK is imported here.
"""
