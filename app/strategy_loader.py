"""What `--strategy` names, as a StrategyRef: a reference name or a user's .py file.

Loading itself is the engine's (engine/strategy/loader.py), so a worker process can load the
same reference; this module only reads the command line's spelling of one.
"""

from __future__ import annotations

from pathlib import Path

from app.commands.output import INTERRUPTED
from engine.strategy.base import Strategy
from engine.strategy.loader import StrategyLoadError, StrategyRef
from strategies.reference import REFERENCE_STRATEGIES

__all__ = ["StrategyLoadError", "load_strategy", "strategy_ref"]


def strategy_ref(spec: str, user_dir: Path | None = None) -> StrategyRef:
    """`sma_crossover` (a reference name), `my_idea` (a file `user_dir`/my_idea.py: the
    workspace's strategies folder), `path/to/file.py` or `path/to/file.py:ClassName`."""
    # rsplit after ".py:" so Windows drive letters (C:\\...) are left alone
    path_text, class_name = spec.rsplit(":", 1) if ".py:" in spec else (spec, "")
    if path_text.endswith(".py"):
        return StrategyRef.of_file(path_text, class_name)
    if spec in REFERENCE_STRATEGIES:
        module, name = REFERENCE_STRATEGIES[spec].split(":")
        return StrategyRef.of_module(module, name)
    if user_dir is not None and (user_dir / f"{spec}.py").is_file():
        return StrategyRef.of_file(user_dir / f"{spec}.py")
    known = ", ".join(sorted(REFERENCE_STRATEGIES))
    mine = sorted(p.stem for p in user_dir.glob("*.py")) if user_dir and user_dir.is_dir() else []
    yours = f", one of yours in {user_dir} ({', '.join(mine) or 'none yet'})" if user_dir else ""
    raise StrategyLoadError(
        f"unknown strategy {spec!r}: use a reference name ({known}){yours} or a .py file"
    )


def load_strategy(spec: str, user_dir: Path | None = None) -> type[Strategy]:
    """The class `spec` names; a Ctrl-C while a file imports stays the user's interrupt."""
    return strategy_ref(spec, user_dir).load(user_interrupt=INTERRUPTED.is_set)
