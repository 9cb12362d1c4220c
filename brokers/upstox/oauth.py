"""Upstox's OAuth2 authorization-code login, the parts that are not HTTP calls.

The trader logs in on Upstox's own page in the system browser (automating the form is not
allowed); Upstox then redirects to the exact redirect URI registered for the app, with
`code` and our `state`. A random state per attempt lets us refuse a redirect we did not ask
for. The code is traded for the day's token by `UpstoxRest.exchange_code`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from brokers.upstox.errors import UpstoxAuthError
from brokers.upstox.rest import API_HOST

DIALOG_PATH = "/v2/login/authorization/dialog"


def new_state() -> str:
    """A fresh unguessable `state` for one login attempt."""
    return secrets.token_urlsafe(24)


def authorization_url(
    client_id: str, redirect_uri: str, state: str, *, api_host: str = API_HOST
) -> str:
    """The page to open in the browser. `redirect_uri` must match the app's registration
    character for character (Upstox compares it exactly, trailing slash included)."""
    for name, value in (("client_id", client_id), ("redirect_uri", redirect_uri), ("state", state)):
        if not value or not value.strip():
            raise UpstoxAuthError(f"Upstox login: {name} is empty; check the Upstox settings")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{api_host.rstrip('/')}{DIALOG_PATH}?{query}"


def code_from_redirect(params: Mapping[str, str], expected_state: str) -> str:
    """The authorization code from the redirect's query, after checking it is ours."""
    state = params.get("state", "")
    if not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise UpstoxAuthError(
            "Upstox login: the browser came back with a different 'state' than this login "
            "sent; ignored it (start the login again)"
        )
    if params.get("error"):
        reason = params.get("error_description") or params["error"]
        raise UpstoxAuthError(f"Upstox login was not completed: {reason}")
    code = params.get("code", "")
    if not code:
        raise UpstoxAuthError("Upstox login: the redirect carried no 'code'")
    return code
