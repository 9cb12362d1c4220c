"""Finding a strategy class by reference name or from a user's .py file."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

from app.commands.output import INTERRUPTED
from engine.strategy.base import Strategy
from strategies.reference import REFERENCE_STRATEGIES, load_reference


class StrategyLoadError(ValueError):
    """The strategy cannot be found or imported; the message names the file and line."""


def load_strategy(spec: str) -> type[Strategy]:
    """`sma_crossover`, `path/to/file.py` or `path/to/file.py:ClassName`."""
    # rsplit after ".py:" so Windows drive letters (C:\\...) are left alone
    path_text, class_name = spec.rsplit(":", 1) if ".py:" in spec else (spec, "")
    if not path_text.endswith(".py"):
        try:
            return load_reference(spec)
        except KeyError:
            known = ", ".join(sorted(REFERENCE_STRATEGIES))
            raise StrategyLoadError(
                f"unknown strategy {spec!r}: use a reference name ({known}) or a .py file"
            ) from None
    return _from_file(Path(path_text), class_name)


def _from_file(path: Path, class_name: str) -> type[Strategy]:
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {path} does not exist")
    module_name = f"artha_user_strategy_{abs(hash(path.resolve()))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise StrategyLoadError(f"cannot import {path}")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise StrategyLoadError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except SystemExit as exc:
        sys.modules.pop(module_name, None)
        raise StrategyLoadError(
            f"{path}:{_line_in(path, exc)}: importing the strategy called sys.exit({exc.code!r}); "
            "a strategy file must not exit"
        ) from None
    except KeyboardInterrupt as exc:
        sys.modules.pop(module_name, None)
        if INTERRUPTED.is_set():  # the user's Ctrl-C, not the file's own raise
            raise
        raise StrategyLoadError(
            f"{path}:{_line_in(path, exc)}: importing the strategy raised KeyboardInterrupt"
        ) from None
    except Exception as exc:
        sys.modules.pop(module_name, None)
        line = _line_in(path, exc)
        if isinstance(exc.__cause__, ValueError) and "__set_name__" in str(exc):
            exc = exc.__cause__  # Python 3.11 wraps errors from Param.__set_name__
        raise StrategyLoadError(
            f"{path}:{line}: importing the strategy raised {type(exc).__name__}: {exc}"
        ) from None
    found = {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, Strategy) and obj.__module__ == module_name
    }
    if class_name:
        if class_name not in found:
            raise StrategyLoadError(f"{path} has no Strategy subclass {class_name!r}")
        return found[class_name]
    if len(found) != 1:
        names = ", ".join(sorted(found)) or "none"
        raise StrategyLoadError(
            f"{path} must define exactly one Strategy subclass (found: {names}); "
            f"name one with {path}:ClassName"
        )
    return next(iter(found.values()))


def _line_in(path: Path, exc: BaseException) -> int | str:
    tb = exc.__traceback__
    line: int | str = "?"
    resolved = str(path.resolve())
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == resolved:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
