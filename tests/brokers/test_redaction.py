"""No secret reaches a log file, a file in the workspace or error text (issue 15 item 6)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.logging_setup import configure_logging
from brokers import redaction
from brokers.credentials import CredentialStore, Secret
from brokers.redaction import (
    RedactingFilter,
    install,
    install_everywhere,
    redact,
    redacted_exception,
    redacted_traceback,
    remember,
    uninstall_everywhere,
)
from tests.fakes import memory_keyring as fake_keyring

memory_keyring = fake_keyring.memory_keyring  # the fixture, for this module's tests


def fresh(prefix: str = "s") -> str:
    """A value never registered before, so a pass proves the pattern or this test's remember."""
    value = f"{prefix}{secrets.token_hex(12)}"
    assert not redaction.is_remembered(value)
    return value


@pytest.fixture
def everywhere() -> Iterator[None]:
    install_everywhere()
    try:
        yield
    finally:
        uninstall_everywhere()


@pytest.fixture
def file_logger(tmp_path) -> Iterator[tuple[logging.Logger, Path]]:
    """A logger (not propagating) writing through a real FileHandler into tmp_path."""
    path = tmp_path / "run.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger(f"artha.test.redaction.{secrets.token_hex(4)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger, path
    finally:
        logger.removeHandler(handler)
        handler.close()


# --- redact() ------------------------------------------------------------------------------------


def test_remembered_values_are_masked_wherever_they_appear():
    value = fresh()
    remember(value)
    assert redact(f"a {value}, b={value}; c{value}d") == "a ***, b=***; c***d"


def test_remembered_values_are_masked_url_encoded_too():
    value = fresh() + "/+="
    remember(value)
    assert redact("x?t=" + value.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")) == (
        "x?t=***"
    )


def test_short_values_are_not_registered():
    assert remember("abc") is False
    assert redact("abc") == "abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET https://api.kite.trade/x?api_key=kk&access_token={v}&i=NSE",
            "GET https://api.kite.trade/x?api_key=kk&access_token=***&i=NSE",
        ),
        (
            "http://127.0.0.1:5000/kite?request_token={v}&action=login&type=login&status=success",
            "http://127.0.0.1:5000/kite?request_token=***&action=login&type=login&status=success",
        ),
        (
            "api_key=kk&request_token={v}&checksum={v}",
            "api_key=kk&request_token=***&checksum=***",
        ),
        (
            '{{"access_token": "{v}", "user_id": "AB1234"}}',
            '{"access_token": "***", "user_id": "AB1234"}',
        ),
        (
            "{{'refresh_token': '{v}', 'enctoken': None}}",
            "{'refresh_token': '***', 'enctoken': None}",
        ),
        ("api_secret={v} next", "api_secret=*** next"),
        ("Authorization: token kk:{v}", "Authorization: token ***"),
        ("{{'Authorization': 'Bearer {v}'}}", "{'Authorization': 'Bearer ***'}"),
        ("Authorization: Bearer {v}", "Authorization: Bearer ***"),
        ("redirect /upstox?code={v}&state=st", "redirect /upstox?code=***&state=st"),
        (
            '{{"code": "{v}", "grant_type": "authorization_code"}}',
            '{"code": "***", "grant_type": "authorization_code"}',
        ),
        ("client_secret={v}&code={v}", "client_secret=***&code=***"),
        ("extended_token: {v}", "extended_token: ***"),
        ('exit code=1, {{"code": 500}}', 'exit code=1, {"code": 500}'),  # not secrets
    ],
)
def test_values_that_are_secret_by_name_are_masked(text, expected):
    value = fresh()
    assert redact(text.format(v=value)) == expected


def test_redacted_exception_and_traceback():
    value = fresh()
    remember(value)
    try:
        try:
            raise KeyError(f"token {value} rejected")
        except KeyError as inner:
            raise RuntimeError(f"login failed: access_token={fresh()}") from inner
    except RuntimeError as exc:
        assert redacted_exception(exc) == "login failed: access_token=***"
        text = redacted_traceback(exc)
        assert "KeyError" in text and "token *** rejected" in text
        assert value not in text
    assert redacted_exception(ValueError()) == "ValueError"


# --- logging -------------------------------------------------------------------------------------


def test_a_filter_on_a_real_file_handler_masks_message_args_exception_and_urls(file_logger):
    logger, path = file_logger
    install(logger.handlers[0])
    install(logger.handlers[0])  # once only
    assert sum(isinstance(f, RedactingFilter) for f in logger.handlers[0].filters) == 1
    registered, unregistered, in_exc = fresh(), fresh(), fresh()
    remember(registered)
    remember(in_exc)
    logger.info("sending key %s to %s", registered, "kite")
    logger.warning("GET /quote?api_key=kk&access_token=%s -> 403", unregistered)
    logger.debug("session %r", {"access_token": unregistered, "user_id": "AB1234"})
    try:
        raise PermissionError(f"denied for {in_exc}")
    except PermissionError:
        logger.exception("call failed with access_token=%s", unregistered)
    logger.info("bad format %s %s", registered)  # does not raise, still masked
    text = path.read_text(encoding="utf-8")
    for value in (registered, unregistered, in_exc):
        assert value not in text
    assert "sending key *** to kite" in text
    assert "access_token=*** -> 403" in text
    assert "'access_token': '***'" in text
    assert "PermissionError: denied for ***" in text
    assert "'user_id': 'AB1234'" in text


def test_a_filter_on_a_logger_misses_its_childrens_records_but_a_handler_filter_does_not(
    file_logger,
):
    """Why install() goes on handlers: a logger's filters only see records logged on it.
    (With logging's plain record factory: an earlier test in this process may have installed
    the redacting one, as the app's logging setup does.)"""
    logger, path = file_logger
    value = fresh()
    remember(value)
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        install(logger)
        logger.getChild("child").info("child says %s", value)
        assert value in path.read_text(encoding="utf-8")  # the logger's filter never saw it
        install(logger.handlers[0])
        logger.getChild("child").info("again %s", value)
        assert "again ***" in path.read_text(encoding="utf-8")
    finally:
        logging.setLogRecordFactory(previous)


def test_install_everywhere_covers_handlers_added_later(everywhere, file_logger):
    logger, path = file_logger
    assert not logger.handlers[0].filters  # added after install_everywhere: no filter on it
    value = fresh()
    remember(value)
    logger.getChild("deep.child").error("token %s", value, stack_info=True)
    text = path.read_text(encoding="utf-8")
    assert "token ***" in text and value not in text
    factory = logging.getLogRecordFactory()
    install_everywhere()  # idempotent: the factory is not wrapped twice
    assert logging.getLogRecordFactory() is factory


def test_a_record_rebuilt_from_a_dict_is_caught_by_the_handler_filter(file_logger, everywhere):
    """makeLogRecord (a queue, a socket) bypasses the factory; the handlers' filters do not."""
    logger, path = file_logger
    install_everywhere()  # again, after the handler was added, as the app does
    value = fresh()
    remember(value)
    record = logging.makeLogRecord(
        {"name": logger.name, "levelno": logging.INFO, "levelname": "INFO", "msg": "t %s",
         "args": (value,)}
    )  # fmt: skip
    assert record.args == (value,)  # the factory saw an empty record
    logger.handle(record)
    assert "t ***" in path.read_text(encoding="utf-8")


def test_records_keep_only_redacted_text_of_an_exception(everywhere):
    value = fresh()
    remember(value)
    try:
        raise ValueError(f"bad {value}")
    except ValueError as exc:
        record = logging.getLogger("artha.test").makeRecord(
            "artha.test", logging.ERROR, __file__, 1, "failed: %s", (exc,), (type(exc), exc, None)
        )
    assert record.getMessage() == "failed: bad ***"
    assert record.exc_info is None  # no traceback object (frames, locals) travels on
    assert record.exc_text is not None and "ValueError: bad ***" in record.exc_text


def test_uninstall_restores_the_previous_factory():
    before = logging.getLogRecordFactory()
    install_everywhere()
    uninstall_everywhere()
    assert logging.getLogRecordFactory() is before


# --- end to end: the app's own logging, a workspace, the store -----------------------------------


def test_no_secret_reaches_the_workspace_log_or_any_workspace_file(
    everywhere, workspace, memory_keyring
):
    """The app's logging (configure_logging) over a workspace, credentials saved and used."""
    assert configure_logging(workspace)
    install_everywhere()  # as the app does after configure_logging: filters on its handlers too
    store = CredentialStore()
    api_key, api_secret, token = fresh("key"), fresh("sec"), fresh("tok")
    issued_by_broker = fresh("new")  # a token only ever seen in a response body
    store.save("zerodha/main", "api_key", api_key)
    store.save("zerodha/main", "api_secret", api_secret)
    loaded = store.load("zerodha/main", "api_secret")
    assert loaded is not None
    log = logging.getLogger("brokers.zerodha.test")
    log.info("login with key %s secret %s", api_key, loaded.reveal())
    log.info("secret object %s", loaded)
    log.warning("GET https://api.kite.trade/portfolio/holdings?access_token=%s", token)
    log.info("session answer %s", {"data": {"access_token": issued_by_broker}})
    log.info("headers %s", {"Authorization": f"token {api_key}:{token}"})
    try:
        raise ConnectionError(f"token {Secret(token)!s} / {api_secret} refused")
    except ConnectionError:
        log.exception("order failed")
    for handler in logging.getLogger().handlers:
        handler.flush()

    log_text = (workspace.logs_dir / "artha.log").read_text(encoding="utf-8")
    assert "order failed" in log_text and "***" in log_text
    everything = b"".join(p.read_bytes() for p in workspace.root.rglob("*") if p.is_file())
    for value in (api_key, api_secret, token, issued_by_broker):
        assert value.encode() not in everything
