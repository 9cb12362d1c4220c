"""Kite's browser login, as a desktop app does it (india-domain.md §4.2).

1. `url(state)` is Kite's login page for the API key. Kite does not return an OAuth `state`
   of its own, but its login URL takes `redirect_params`, a URL-encoded query string that
   Kite appends to the redirect after a successful login (Zerodha on the Kite forum,
   kite.trade/forum/discussion/comment/21101). We send `state=<state>` there, so the
   redirect can be matched to this attempt (`catch_redirect(expected_state=...)`);
   `complete` refuses a state that does not match and accepts a redirect without one (a
   pasted URL from a login page opened some other way).
2. The trader logs in in the system browser; Kite redirects to the registered URL on
   127.0.0.1 (`brokers.login_listener.catch_redirect`, or the pasted URL through
   `parse_redirect_url`) with `request_token`, `action=login`, `status=success`.
3. `complete(params)` exchanges the request token for an access token
   (`generate_session`: SHA-256 checksum of api_key + request_token + api_secret), stores the
   token in the keychain with its expiry (the next 06:00 IST: Kite ends sessions daily) and
   hands it to the broker, which is then connected again with everything it held.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol
from urllib.parse import urlencode

from kiteconnect.exceptions import KiteException

from brokers.credentials import CredentialError, CredentialStore, Secret, daily_expiry
from brokers.redaction import redact
from brokers.zerodha.convert import kite_time
from brokers.zerodha.errors import BROKER, translate
from engine.broker.errors import AuthError, BrokerError, MalformedResponse
from engine.broker.models import SessionInfo

KITE_LOGIN_URL: Final = "https://kite.zerodha.com/connect/login"
KITE_API_VERSION: Final = "3"


class SessionSink(Protocol):
    """Who takes a fresh session: the KiteBroker the login was started from."""

    def session_started(self, token: Secret, info: SessionInfo) -> None: ...


class KiteClientFactory(Protocol):
    """Makes a kiteconnect client for the session exchange (no access token yet)."""

    def __call__(self, api_key: str) -> Any: ...


class KiteLogin:
    """The `LoginFlow` of one Kite account (see the module doc)."""

    def __init__(
        self,
        *,
        account_id: str,
        credential_id: str,
        credentials: CredentialStore,
        make_client: KiteClientFactory,
        sink: SessionSink,
        login_url: str = KITE_LOGIN_URL,
        expected_user: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account_id = account_id
        self.credential_id = credential_id
        self.credentials = credentials
        self.make_client = make_client
        self.sink = sink
        self.login_url = login_url
        self.expected_user = expected_user  # the account's Zerodha client id, once known
        self.clock = clock
        self.state: str | None = None  # the state of the attempt `url` was last asked for

    @property
    def echoes_state(self) -> bool:
        """False: the redirect_params echo is Zerodha's forum word, not a documented promise,
        and a listener insisting on it would wait forever if Kite dropped it. `complete`
        still refuses a state that is present and wrong."""
        return False

    @property
    def required_params(self) -> tuple[str, ...]:
        return ("request_token",)

    def _secret(self, field: str) -> Secret:
        what = "API key" if field == "api_key" else "API secret"
        try:
            value = self.credentials.load(self.credential_id, field)
        except CredentialError as error:
            raise AuthError(
                f"the {what} of {self.account_id} could not be read from the keychain: {error}",
                broker=BROKER,
            ) from None
        if value is None:
            raise AuthError(
                f"no {what} is stored for {self.account_id}; add it in Settings ▸ Brokers "
                "or with `artha broker add zerodha`",
                broker=BROKER,
            )
        return value

    def url(self, state: str) -> str:
        """Kite's login page for this account, carrying `state` back through redirect_params."""
        api_key = self._secret("api_key").reveal()
        self.state = state
        query = urlencode(
            {
                "api_key": api_key,
                "v": KITE_API_VERSION,
                "redirect_params": urlencode({"state": state}),
            }
        )
        return f"{self.login_url}?{query}"

    async def complete(self, params: Mapping[str, str]) -> SessionInfo:
        """Exchange the redirect's request token for a session (see the module doc). AuthError
        when the login failed, the token is missing or stale, or the state is another
        attempt's; nothing is stored then."""
        status = (params.get("status") or "").strip().lower()
        if status != "success":
            said = redact(params.get("message") or params.get("error") or "")
            raise AuthError(
                f"Kite reported that the login of {self.account_id} did not succeed "
                f"(status={status or 'missing'}{'; ' + said if said else ''})",
                broker=BROKER,
            )
        state = params.get("state")
        if state and self.state and not hmac.compare_digest(state.encode(), self.state.encode()):
            raise AuthError(
                f"this login redirect belongs to an earlier login attempt of {self.account_id} "
                "(its state does not match); start the login again",
                broker=BROKER,
            )
        request_token = (params.get("request_token") or "").strip()
        if not request_token:
            raise AuthError(
                f"the login redirect for {self.account_id} has no request_token; copy the "
                "whole address the browser ended on, or start the login again",
                broker=BROKER,
            )
        Secret(request_token)  # registered with redaction: it never shows in a log line
        # The keychain may block (a D-Bus round trip): not on the loop.
        api_key = await asyncio.to_thread(self._secret, "api_key")
        api_secret = await asyncio.to_thread(self._secret, "api_secret")
        session = await self._exchange(api_key, request_token, api_secret)
        token_text = session.get("access_token")
        user_id = session.get("user_id")
        if not isinstance(token_text, str) or not token_text or not isinstance(user_id, str):
            raise MalformedResponse(
                "Kite's answer to the login has no access token or user id", broker=BROKER
            )
        token = Secret(token_text)
        if self.expected_user and user_id != self.expected_user:
            # Another Zerodha login in the same browser: its orders would go to that account.
            raise AuthError(
                f"the browser logged in to Zerodha as {user_id}, but {self.account_id} is "
                f"{self.expected_user}; log out of Kite in the browser and log in as "
                f"{self.expected_user}",
                broker=BROKER,
            )
        logged_in = self.clock()
        if session.get("login_time"):
            # An unreadable login time: our clock is as good (the next 06:00 IST either way).
            with contextlib.suppress(ValueError):
                logged_in = kite_time(session["login_time"], "login_time")
        expires_at = daily_expiry(logged_in)
        try:
            await asyncio.to_thread(
                self.credentials.save_token, self.credential_id, token, expires_at
            )
        except CredentialError as error:
            raise AuthError(
                f"logged in to Kite, but the session of {self.account_id} could not be kept "
                f"in the keychain: {error}",
                broker=BROKER,
            ) from None
        info = SessionInfo(
            account_id=self.account_id,
            user_id=user_id,
            user_name=str(session.get("user_name") or user_id),
            expires_at=expires_at,
        )
        self.state = None
        self.sink.session_started(token, info)
        return info

    async def _exchange(
        self, api_key: Secret, request_token: str, api_secret: Secret
    ) -> Mapping[str, Any]:
        client = self.make_client(api_key.reveal())
        failure: BrokerError | None = None
        refusal = ""
        try:
            session = await asyncio.to_thread(
                client.generate_session, request_token, api_secret.reveal()
            )
        except Exception as exc:
            failure = translate(exc, call="login")
            if failure is None:
                raise
            if isinstance(exc, KiteException):
                refusal = redact(str(exc)).strip()
        finally:
            client.reqsession.close()
        if failure is not None:
            if failure.needs_login or failure.status in (400, 403):
                raise AuthError(
                    f"Kite refused the login of {self.account_id} "
                    f"({refusal.rstrip('.') or failure.kind}): the request token works once "
                    "and only for a few minutes",
                    broker=BROKER,
                    advice="Log in again; if this repeats, check the API secret in "
                    "Settings ▸ Brokers.",
                    status=failure.status,
                )
            raise failure
        if not isinstance(session, Mapping):
            raise MalformedResponse("Kite's answer to the login is not a session", broker=BROKER)
        return session
