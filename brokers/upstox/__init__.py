"""Upstox: OAuth2 login, REST (v2/v3) and the v3 protobuf market feed, behind the engine's Broker.

- `oauth`: the login page URL (client_id, the exact registered redirect URI, a random state)
  and reading the redirect; the listener itself is `brokers.login_listener`.
- `rest.UpstoxRest`: plain HTTP with `requests` (why not the SDK: see rest.py). Order calls
  go to the order host (api-hft) and through `UpstoxConfig.order_proxies` when set, with
  `X-Algo-Name` when the trader named the algo; failures are `errors.Upstox*` by kind.
- `feed.UpstoxFeed`: our own websockets client for the v3 feed (authorize, subscribe,
  decode, reconnect with backoff and resubscribe, silence watchdog).
- `broker.UpstoxBroker`: the engine's `Broker` protocol on top, raising the engine's typed
  errors (`engine.broker.errors`).
- `proto/`: Upstox's MarketDataFeedV3 schema (MIT), vendored with its generated module.
"""
