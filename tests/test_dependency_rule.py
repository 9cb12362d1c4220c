"""DESIGN.md §2: engine imports no Qt, no broker SDK, nothing of app, brokers or strategies."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = {"PySide6", "shiboken6", "pyqtgraph", "qasync", "PySide6QtAds"}
BROKER_SDKS = {"kiteconnect", "upstox_client", "twisted", "autobahn", "websockets"}
RULES: dict[str, set[str]] = {
    "engine": QT | BROKER_SDKS | {"app", "brokers", "strategies"},
    "brokers": QT | {"app", "strategies"},
    "strategies": QT | BROKER_SDKS | {"app", "brokers"},
}


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every absolute import, including ones nested in functions."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(package_dir: Path, forbidden: set[str]) -> list[str]:
    bad = []
    for path in sorted(package_dir.rglob("*.py")):
        for line, module in imported_modules(path.read_text(encoding="utf-8")):
            if module.split(".")[0] in forbidden:
                bad.append(f"{path.relative_to(package_dir.parent)}:{line} imports {module}")
    return bad


def test_packages_respect_the_dependency_rule():
    problems = [v for pkg, banned in RULES.items() for v in violations(ROOT / pkg, banned)]
    assert problems == []


def test_the_scanner_catches_a_forbidden_import(tmp_path):
    pkg = tmp_path / "engine"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "ok.py").write_text("import numpy\nfrom decimal import Decimal\n")
    (pkg / "sub" / "bad.py").write_text("def f():\n    from PySide6.QtCore import QTimer\n")
    assert violations(pkg, RULES["engine"]) == ["engine/sub/bad.py:2 imports PySide6.QtCore"]


def test_importing_the_engine_loads_no_qt_or_broker_sdk():
    code = (
        "import sys, pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {sorted(QT | BROKER_SDKS)!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
