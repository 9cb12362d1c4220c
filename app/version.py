"""The one place Artha's version is written; pyproject and the frozen app read it from here."""

__version__ = "0.1.0"
