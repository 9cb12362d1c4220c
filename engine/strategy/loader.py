"""Finding a strategy class from plain data a fresh process can act on: `StrategyRef`.

A backtest that runs in a worker process gets the strategy as a reference (an importable
module, or a user's .py file, and a class name), never as a class object: a class defined in
a user's file can only be found again if the worker imports that file under the same module
name. That name comes from the file's resolved path (a sha256, not the per-process `hash()`),
so every process that loads the file names its module alike and pickled instances and
classes of it resolve in each of them.

Every way loading can fail becomes one `StrategyLoadError` naming the file and line (a
syntax error, an exception or `sys.exit` while importing, a missing or ambiguous class).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from engine.strategy.base import Strategy

USER_MODULE_PREFIX = "artha_user_strategy_"
_STAMP = "__artha_file_stamp__"  # on a loaded user module: the file's _stamp when executed


class StrategyLoadError(ValueError):
    """The strategy cannot be found or imported; the message names the file and line."""


@dataclass(frozen=True)
class StrategyRef:
    """Where a strategy class lives: exactly one of `module` (importable, e.g.
    `strategies.reference.sma_crossover`) or `path` (a .py file; a relative path is read
    against the loading process's working folder, as a spawned worker inherits it), and the
    class. An empty `class_name` with a file means "the one Strategy subclass it defines"."""

    module: str | None = None
    path: Path | None = None
    class_name: str = ""

    def __post_init__(self) -> None:
        if (self.module is None) == (self.path is None):
            raise StrategyLoadError("a strategy reference names exactly one module or file")
        if self.module is not None and not self.class_name:
            raise StrategyLoadError(f"a strategy in module {self.module} needs its class name")
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def of_module(cls, module: str, class_name: str) -> StrategyRef:
        return cls(module=module, class_name=class_name)

    @classmethod
    def of_file(cls, path: str | Path, class_name: str = "") -> StrategyRef:
        return cls(path=Path(path), class_name=class_name)

    @property
    def file(self) -> str | None:
        """The resolved file a traceback names for this strategy's code (None for modules)."""
        return None if self.path is None else str(self.path.resolve())

    def load(self, user_interrupt: Callable[[], bool] | None = None) -> type[Strategy]:
        """Import the module or execute the file and return the class. A file already
        executed in this process is executed again only when it changed since (its import
        may print or be slow; a GUI re-run after an edit gets the new code).

        A KeyboardInterrupt raised while a file imports propagates when `user_interrupt()`
        says it was the user's Ctrl-C (or no such test is given); otherwise it is the file's
        own raise and becomes a StrategyLoadError naming its line.
        """
        if self.module is not None:
            return _from_module(self.module, self.class_name)
        assert self.path is not None
        return _from_file(self.path, self.class_name, user_interrupt)

    def __str__(self) -> str:
        if self.module is not None:
            return f"{self.module}:{self.class_name}"
        return f"{self.path}:{self.class_name}" if self.class_name else str(self.path)


def user_module_name(path: Path) -> str:
    """The module name a strategy file is imported as: the same in every process."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{USER_MODULE_PREFIX}{digest[:24]}"


def _from_module(module_name: str, class_name: str) -> type[Strategy]:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyLoadError(f"cannot import strategy module {module_name}: {exc}") from None
    except Exception as exc:
        raise StrategyLoadError(
            f"importing strategy module {module_name} raised {type(exc).__name__}: {exc}"
        ) from None
    found = getattr(module, class_name, None)
    if not (inspect.isclass(found) and issubclass(found, Strategy)):
        raise StrategyLoadError(f"{module_name} has no Strategy subclass {class_name!r}")
    return found


def _from_file(
    path: Path, class_name: str, user_interrupt: Callable[[], bool] | None
) -> type[Strategy]:
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {path} does not exist")
    module_name = user_module_name(path)
    stamp = _stamp(path)
    module = sys.modules.get(module_name)
    if module is None or getattr(module, _STAMP, None) != stamp:
        module = _execute(path, module_name, user_interrupt)
        setattr(module, _STAMP, stamp)
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


def _stamp(path: Path) -> tuple[int, int]:
    """What tells an edited file from the one already imported: its mtime and size."""
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def _execute(path: Path, module_name: str, user_interrupt: Callable[[], bool] | None) -> ModuleType:
    """Run the file as module `module_name` (replacing an earlier load: the file may have
    been edited); any failure leaves no half-made module behind."""
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
        if user_interrupt is None or user_interrupt():  # the user's Ctrl-C, not the file's
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
    return module


def _line_in(path: Path, exc: BaseException) -> int | str:
    """The deepest line of `path` the exception passed through ("?" if none)."""
    tb = exc.__traceback__
    line: int | str = "?"
    resolved = str(path.resolve())
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == resolved:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
