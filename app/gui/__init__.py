"""The desktop station (PySide6). Importing it loads Qt and first makes PySide6's import
hook answer without reading each later module's source file (app.gui.feature_check)."""

from app.gui.feature_check import skip_source_reads

skip_source_reads()
