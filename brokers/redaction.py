"""Keep secrets out of log records, log files and the error text shown to people.

Two layers, because either alone leaves gaps:

* a process-wide registry of secret values (`remember`): every API key, secret and token the
  credential store loads or saves is registered, so it is replaced wherever it appears;
* patterns for values that are secret by their name (`access_token=...`, `"api_secret": ...`,
  `Authorization: token key:tok`, `Bearer ...`, an OAuth redirect's `code=...`), which catch a
  token we never saw (one the broker just issued, a request token in a redirect URL).

What the app must call at startup, once, before anything logs a broker call::

    from brokers import redaction
    redaction.install_everywhere()

It installs a log-record factory, so every record created from then on, by any logger
(ours, urllib3's, kiteconnect's), is redacted when it is made, whatever handler later writes
it, including handlers added afterwards (`configure_logging` replaces the root's handlers).
It also puts a `RedactingFilter` on the current handlers of every logger, for records made
elsewhere and handed to a handler directly. A filter on a *logger* would not be enough: it
only sees records logged on that very logger, not those propagated from its children.
Either order with `configure_logging` works for records logged in this process (the factory
covers later handlers), but call it (again) after `configure_logging`: records rebuilt with
`logging.makeLogRecord(dict)` (from a queue or a socket) bypass the factory, and only the
filters on the handlers catch those. A record's args are merged into its message when
it is made (a bad %-format is kept as text, never raised at the caller), and an exception is
kept as redacted text only (`exc_info` is dropped: a traceback's frames hold locals).
Not covered: attributes passed through `extra=` (name them plainly, never with a secret),
and text written without logging (print, sys.excepthook): use `redacted_exception` /
`redacted_traceback` for text shown to people.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 6
"""Shorter values are not registered: replacing a 3-letter value everywhere would garble
ordinary words, and no broker issues keys or tokens that short (Kite's are 16-32 characters)."""

SECRET_NAMES = (
    "access_token",
    "api_secret",
    "request_token",
    "checksum",
    "refresh_token",
    "enctoken",
    "public_token",
    "extended_token",
    "client_secret",
    "password",
)
"""Names whose value is a secret wherever they appear: query strings, form bodies, JSON and
Python reprs (`'access_token': '...'`), keyword arguments."""

_NAMES = "|".join(SECRET_NAMES)
# name=value / name: value, the name optionally quoted (JSON, dict repr), the value quoted or
# bare up to the next separator.
_BY_NAME = re.compile(
    rf"""(?<![A-Za-z0-9_])(?P<q>["']?)(?P<name>{_NAMES})(?P=q)(?P<sep>\s*[=:]\s*)"""
    r"""(?:(?P<vq>["'])(?:\\.|(?!(?P=vq)).)*(?P=vq)|(?!(?:None|null)\b)[^\s&"',;}<>)\]]+)""",
    re.IGNORECASE,
)
# An OAuth redirect's code: only in a query string or as a quoted key with a string value,
# so "exit code=1" and {"code": 500} stay readable.
_CODE_IN_QUERY = re.compile(r"(?P<lead>[?&]code=)[^&\s#\"'<>]+", re.IGNORECASE)
_CODE_IN_JSON = re.compile(
    r"""(?P<lead>(?P<q>["'])code(?P=q)\s*:\s*)(?P<vq>["'])(?:\\.|(?!(?P=vq)).)*(?P=vq)""",
    re.IGNORECASE,
)
# Authorization: token api_key:access_token / Bearer <token> / Basic <...>, as a header line
# or inside a dict repr.
_AUTHORIZATION = re.compile(
    r"""(?P<lead>authorization["']?\s*[:=]\s*["']?(?:token|bearer|basic)\s+)[^\s"',}]+""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<lead>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def _mask_by_name(match: re.Match[str]) -> str:
    quote_char = match.group("q")
    vq = match.group("vq") or ""
    return f"{quote_char}{match.group('name')}{quote_char}{match.group('sep')}{vq}{MASK}{vq}"


def _mask_after_lead(match: re.Match[str]) -> str:
    return match.group("lead") + MASK


def _mask_json_code(match: re.Match[str]) -> str:
    vq = match.group("vq")
    return f"{match.group('lead')}{vq}{MASK}{vq}"


class _Registry:
    """The remembered values and one regex over them, rebuilt when a value is added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> bool:
        if len(value) < MIN_SECRET_LENGTH:
            return False
        forms = {value, quote(value, safe=""), quote_plus(value)}
        with self._lock:
            if forms <= self._values:
                return True
            self._values |= forms
            # Longest first, so a value containing another is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        return True

    def pattern(self) -> re.Pattern[str] | None:
        return self._pattern

    def knows(self, value: str) -> bool:
        with self._lock:
            return value in self._values


_REGISTRY = _Registry()


def remember(value: str) -> bool:
    """Register a secret value, so `redact` masks it from now on in this process.

    Returns False (and registers nothing) for values shorter than MIN_SECRET_LENGTH."""
    if not isinstance(value, str):
        raise TypeError(f"redaction.remember takes the secret as a str, not {type(value).__name__}")
    return _REGISTRY.add(value)


def is_remembered(value: str) -> bool:
    """Whether `value` is registered (for tests and diagnostics; says nothing about others)."""
    return _REGISTRY.knows(value)


def redact(text: str) -> str:
    """`text` with every remembered value and every secret-by-name value replaced by ***."""
    pattern = _REGISTRY.pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _AUTHORIZATION.sub(_mask_after_lead, text)
    text = _BEARER.sub(_mask_after_lead, text)
    text = _BY_NAME.sub(_mask_by_name, text)
    text = _CODE_IN_QUERY.sub(_mask_after_lead, text)
    return _CODE_IN_JSON.sub(_mask_json_code, text)


def redacted_exception(exc: BaseException) -> str:
    """An exception's message for people, with secrets masked (its class name when it has no
    message). Chained causes are left out: a dialog shows one sentence, the log the rest."""
    return redact(str(exc)) or type(exc).__name__


def redacted_traceback(exc: BaseException) -> str:
    """The whole traceback (causes included) as text, with secrets masked, for a log or a bug
    report."""
    return redact("".join(traceback.format_exception(exc)))


_PLAIN = logging.Formatter()


def _scrub(record: logging.LogRecord) -> None:
    """Replace the record's message, exception and stack text by redacted text, in place.

    The message is formatted here (args merged in) so no handler can format the raw args; a
    message whose args do not fit is kept as text rather than raised in the caller's face."""
    try:
        message = record.getMessage()
    except Exception:  # a bad %-format: keep what there is, masked
        message = f"{record.msg!s} {record.args!r}"
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None:
        text = record.exc_text or _PLAIN.formatException(record.exc_info)
        record.exc_text = redact(text)
        # The traceback object holds frames (and their locals); only the text may travel on.
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, args, exception and stack text with secrets masked.

    On a handler it sees every record the handler writes; on a logger only records logged on
    that logger (not those propagated from children) - prefer handlers or `install_everywhere`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


def install(target: logging.Logger | logging.Handler) -> RedactingFilter:
    """Put a RedactingFilter on one logger or handler (once; returns the one in place)."""
    for existing in target.filters:
        if isinstance(existing, RedactingFilter):
            return existing
    added = RedactingFilter()
    target.addFilter(added)
    return added


_LogRecordFactory = Callable[..., logging.LogRecord]


class _RedactingFactory:
    """Wraps the previous log-record factory; every record it makes is scrubbed at birth."""

    def __init__(self, previous: _LogRecordFactory) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        _scrub(record)
        return record


def install_everywhere() -> None:
    """Redact every log record of this process from now on (idempotent); see the module doc."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))
    for handler in _all_handlers():
        install(handler)


def uninstall_everywhere() -> None:
    """Undo `install_everywhere` (tests): the previous factory back, our handler filters off."""
    current = logging.getLogRecordFactory()
    if isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(current.previous)
    for handler in _all_handlers():
        for existing in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(existing)


def _all_handlers() -> Iterable[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    seen: set[int] = set()
    for logger in loggers:
        for handler in list(logger.handlers):
            if id(handler) not in seen:
                seen.add(id(handler))
                yield handler
