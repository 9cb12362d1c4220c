"""PySide6's per-import check without reading every module's source file.

Once PySide6 is loaded, its import hook (shibokensupport.feature, PySide6 6.4-6.11) asks
of every module imported for the first time whether it "uses PySide" by reading the whole
`.py` file with `inspect.getsource` and looking for the word "PySide6" in it. The answer
only picks the module's default `__feature__` selection (0 "no feature" or -1 "ignore"),
and both mean the same while no module selects a feature (a module that does import
`__feature__` registers its own selection when it does). At start-up that is a second file
read for each of ~500 modules: 0.2-0.5 s of a start, most of it before the first paint,
and a disk read each on a cold start. The replacement answers from the module's namespace
(does it hold a PySide6 module, class or object?): no file is opened.
"""

from __future__ import annotations

import logging
import sys
from types import BuiltinFunctionType, FunctionType, ModuleType

log = logging.getLogger(__name__)
QT_PACKAGES = ("PySide6", "shiboken6")


def _owner(value: object) -> str:
    """The module a value comes from: a module's own name, a class's or function's module,
    otherwise its type's."""
    if isinstance(value, ModuleType):
        return value.__name__
    if isinstance(value, type | FunctionType | BuiltinFunctionType):
        owner = getattr(value, "__module__", None)
        return owner if isinstance(owner, str) else ""
    return type(value).__module__


def uses_pyside(module: ModuleType) -> bool:
    """Whether the module's namespace holds anything of PySide6 (imported modules, classes,
    functions, enum values, objects)."""
    try:
        values = list(vars(module).values())
    except TypeError:  # no __dict__
        return False
    for value in values:
        try:
            if _owner(value).startswith(QT_PACKAGES):
                return True
        except Exception:  # an odd object only means "not PySide's"
            continue
    return False


def skip_source_reads() -> None:
    """Load PySide6 and make its import hook answer from namespaces (see the module's
    docstring). A PySide6 without that hook is left as it is."""
    import PySide6.QtCore  # noqa: F401 - installs the hook and loads shibokensupport

    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        log.debug("PySide6 has no source check on import: nothing to replace")
        return
    setattr(feature, "_mod_uses_pyside", uses_pyside)  # noqa: B010 - a private of PySide6
