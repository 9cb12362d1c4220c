"""The strategy editor's parts: the code editor widget, its highlighter, checks, completion,
find bar and parameter form. The panel that puts them together is
app.gui.panels.editor_panel."""
