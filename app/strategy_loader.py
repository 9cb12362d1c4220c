"""What `--strategy` names, as a StrategyRef: a reference name or a user's .py file.

Loading itself is the engine's (engine/strategy/loader.py), so a worker process can load the
same reference; this module only reads the command line's spelling of one.
"""

from __future__ import annotations

from app.commands.output import INTERRUPTED
from engine.strategy.base import Strategy
from engine.strategy.loader import StrategyLoadError, StrategyRef
from strategies.reference import REFERENCE_STRATEGIES

__all__ = ["StrategyLoadError", "load_strategy", "strategy_ref"]


def strategy_ref(spec: str) -> StrategyRef:
    """`sma_crossover`, `path/to/file.py` or `path/to/file.py:ClassName`."""
    # rsplit after ".py:" so Windows drive letters (C:\\...) are left alone
    path_text, class_name = spec.rsplit(":", 1) if ".py:" in spec else (spec, "")
    if path_text.endswith(".py"):
        return StrategyRef.of_file(path_text, class_name)
    if spec not in REFERENCE_STRATEGIES:
        known = ", ".join(sorted(REFERENCE_STRATEGIES))
        raise StrategyLoadError(
            f"unknown strategy {spec!r}: use a reference name ({known}) or a .py file"
        )
    module, name = REFERENCE_STRATEGIES[spec].split(":")
    return StrategyRef.of_module(module, name)


def load_strategy(spec: str) -> type[Strategy]:
    """The class `spec` names; a Ctrl-C while a file imports stays the user's interrupt."""
    return strategy_ref(spec).load(user_interrupt=INTERRUPTED.is_set)
