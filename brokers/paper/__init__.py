"""The paper broker: orders filled against live or replayed quotes by the engine's rules,
its account kept in the workspace (`<workspace>/paper/<account>.jsonl`)."""

from brokers.paper.broker import PaperBroker
from brokers.paper.journal import PaperJournalError
from brokers.paper.matching import DEFAULT_PROTECTION
from brokers.paper.replay import bar_quotes, merged, tick_quotes

__all__ = [
    "DEFAULT_PROTECTION",
    "PaperBroker",
    "PaperJournalError",
    "bar_quotes",
    "merged",
    "tick_quotes",
]
