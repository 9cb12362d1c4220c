"""The Watchlist panel on a real store with realistic minute data (SYNTHETIC demo bars):
figures read as a job, search and add, remove, reorder, sort, open-chart signal, named lists,
live prices in place, the sparkline painted in up/down colours in both themes, and the
messages for no store, an empty store and a damaged lists file."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from app.gui.context import AppContext
from app.gui.panels.registry import panel_specs
from app.gui.panels.watchlist import (
    CHANGE,
    CHANGE_PCT,
    LAST,
    SYMBOL,
    TREND,
    VOLUME,
    WatchlistPanel,
    direction_colours,
    indian_digits,
    price_text,
    volume_text,
)
from app.gui.themes import apply_theme
from app.gui.watchlists import FILE_NAME, SEED_COUNT, Watchlists
from engine.data.demo import demo_batch, generate_demo
from engine.data.quotes import read_quotes
from engine.data.store import MarketStore
from engine.events import MarketDataChanged

COUNT, DAYS = 24, 32  # 24 instruments x 32 sessions x 375 one-minute bars


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("watchlist") / "artha.duckdb"
    with MarketStore.open(path) as store:
        store.import_batch(demo_batch(generate_demo(count=COUNT, days=DAYS)))
    return path


@pytest.fixture
def stocked_ctx(make_ctx, workspace, demo_file):
    """A context whose store holds the demo minute bars (a copy per test)."""
    shutil.copy(demo_file, workspace.database_path)
    ctx = make_ctx()
    yield ctx
    assert ctx.jobs.wait(15), "a price read still runs"  # before the store closes


def shown(qtbot, ctx: AppContext) -> WatchlistPanel:
    """A panel whose figures have arrived (they are read as a job, off the GUI thread)."""
    panel = WatchlistPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.model.rows and all(r.last is None for r in panel.model.rows)  # not yet
    assert panel.quotes_shown_count == 0
    qtbot.waitSignal(panel.quotes_shown, timeout=15_000).wait()
    # one who starts watching after the read (the live screenshot's stage) can tell it ended
    assert panel.quotes_shown_count >= 1
    return panel


def cell(panel: WatchlistPanel, row: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    return panel.proxy.index(row, column).data(role)


def column(panel: WatchlistPanel, col: int = SYMBOL) -> list[str]:
    return [cell(panel, r, col) for r in range(panel.proxy.rowCount())]


def saved(ctx: AppContext) -> Watchlists:
    return Watchlists.load(ctx.workspace.settings_dir)


def test_the_panel_is_registered_on_the_left_after_home():
    spec = next(s for s in panel_specs() if s.panel_id == "watchlist")
    assert spec.area == Qt.DockWidgetArea.LeftDockWidgetArea
    order = [s.panel_id for s in panel_specs()]
    assert order.index("home") < order.index("watchlist") < order.index("data")


def test_first_use_shows_the_first_20_instruments_with_their_figures(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    store = stocked_ctx.store
    keys = [f"{e}:{s}" for e, s in store.instruments()[["exchange", "symbol"]].to_numpy()]
    assert panel.model.keys() == keys[:SEED_COUNT] == saved(stocked_ctx).keys()
    quotes = read_quotes(store, keys[:SEED_COUNT])
    up, down = direction_colours(QApplication.palette())
    for row, key in enumerate(keys[:SEED_COUNT]):
        quote = quotes[key]
        assert cell(panel, row, SYMBOL) == key.split(":")[1]
        assert cell(panel, row, LAST) == price_text(quote.last)
        assert cell(panel, row, CHANGE_PCT) == f"{quote.change_pct:+.2f}%"
        assert cell(panel, row, VOLUME) == volume_text(quote.volume)
        colour = cell(panel, row, CHANGE, Qt.ItemDataRole.ForegroundRole)
        assert colour == (up if quote.change > 0 else down if quote.change < 0 else None)
    assert panel.status.text() == (
        f"{SEED_COUNT} instrument(s) · last close, {quotes[keys[0]].session:%a %d %b %Y} (IST)"
    )
    assert "Previous close" in cell(panel, 0, SYMBOL, Qt.ItemDataRole.ToolTipRole)


def test_search_adds_by_symbol_any_case_and_refuses_what_is_not_there(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    extra = [k for k in panel.completer.model().stringList() if k not in panel.model.keys()]  # noqa: SIM118
    symbol = extra[0].split(":")[1]
    qtbot.keyClicks(panel.search, symbol.lower())
    with qtbot.waitSignal(panel.quotes_shown, timeout=15_000):
        qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert panel.model.keys()[-1] == extra[0] and saved(stocked_ctx).keys()[-1] == extra[0]
    assert cell(panel, SEED_COUNT, LAST) != "—"  # its figures were read too
    assert panel.current_key() == extra[0]
    qtbot.waitUntil(lambda: panel.search.text() == "")
    assert panel.add_symbol("NSE:" + symbol) is False
    assert panel.status.text() == f"{extra[0]} is in this list already"
    assert panel.add_symbol("NOSUCH") is False
    assert panel.status.text() == "No instrument 'NOSUCH' in the store"
    assert panel.add_symbol("SYN") is False  # many match: it says some, adds none
    assert "did you mean NSE:SYN" in panel.status.text()
    assert len(panel.model.keys()) == SEED_COUNT + 1
    assert panel.add_symbol(extra[1].split(":")[1][-4:].lower())  # one match: added


def test_completion_matches_inside_the_key(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    panel.completer.setCompletionPrefix("it0")
    found = [
        panel.completer.completionModel().index(r, 0).data()
        for r in range(panel.completer.completionCount())
    ]
    assert found and all("IT0" in k for k in found)


def test_delete_removes_the_selected_rows_and_remembers(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    first, second = panel.model.keys()[:2]
    panel.table.setFocus()
    panel.table.selectRow(0)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert first not in panel.model.keys()  # noqa: SIM118
    assert first not in saved(stocked_ctx).keys()  # noqa: SIM118
    assert panel.status.text() == f"Removed {first}"
    panel.table.selectRow(0)
    assert panel.remove_selected() == [second]
    assert len(saved(stocked_ctx).keys()) == SEED_COUNT - 2


def test_alt_arrows_reorder_the_list_and_a_sorted_view_goes_back_to_it(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    keys = panel.model.keys()
    panel.table.setFocus()
    panel.table.selectRow(0)
    qtbot.keyClick(panel.table, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert panel.model.keys()[:2] == [keys[1], keys[0]] == saved(stocked_ctx).keys()[:2]
    assert panel.current_key() == keys[0]
    assert panel.move_current(-1) and panel.model.keys() == keys
    assert not panel.move_current(-1)  # the top row goes no higher
    panel.sort_by(VOLUME, Qt.SortOrder.DescendingOrder)
    panel.table.selectRow(0)
    top = panel.current_key()
    assert panel.move_current(1)
    assert not panel.table.horizontalHeader().isSortIndicatorShown()
    at = keys.index(top)
    assert panel.model.keys()[at + 1] == top == saved(stocked_ctx).keys()[at + 1]


def test_header_clicks_sort_up_down_then_back_to_the_list_order(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    own = column(panel)
    changes = {r.symbol: r.change_pct for r in panel.model.rows}
    panel._header_clicked(CHANGE_PCT)
    assert column(panel) == sorted(own, key=lambda s: changes[s])
    panel._header_clicked(CHANGE_PCT)
    assert column(panel) == sorted(own, key=lambda s: changes[s], reverse=True)
    panel._header_clicked(CHANGE_PCT)
    assert column(panel) == own
    panel.sort_by(SYMBOL, Qt.SortOrder.DescendingOrder)
    assert column(panel) == sorted(own, reverse=True)
    panel.sort_by(TREND)
    trends = [panel.model.row_of(f"NSE:{s}").trend_pct for s in column(panel)]
    assert trends == sorted(trends)


def test_double_click_and_enter_ask_for_the_chart(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    panel.show()
    key = panel.model.keys()[2]
    rect = panel.table.visualRect(panel.proxy.index(2, LAST))
    with qtbot.waitSignal(panel.open_chart_requested) as clicked:
        # Qt 6 opens on a double-click only after a press on the same cell, as a mouse does
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert clicked.args == [key]
    panel.table.setFocus()
    panel.table.selectRow(3)
    with qtbot.waitSignal(panel.open_chart_requested) as entered:
        qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    assert entered.args == [panel.model.keys()[3]]


def test_named_lists_new_rename_delete_and_switch(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    assert panel.new_list("Banks")
    assert [panel.list_box.itemText(i) for i in range(panel.list_box.count())] == [
        "Watchlist", "Banks"
    ]  # fmt: skip
    assert panel.list_box.currentText() == "Banks" and panel.model.keys() == []
    assert panel.status.text() == "This list is empty: type a symbol above to add one."
    banks = [k for k in panel.completer.model().stringList() if "BANK" in k][:3]
    for key in banks:
        panel.add_symbol(key)
    qtbot.waitUntil(lambda: all(r.last is not None for r in panel.model.rows), timeout=15_000)
    assert panel.model.keys() == banks
    assert not panel.new_list("watchlist")
    assert panel.status.text() == "a watchlist named 'Watchlist' exists already"
    assert panel.rename_list("Bank stocks")
    assert panel.list_box.currentText() == "Bank stocks"
    with qtbot.waitSignal(panel.quotes_shown, timeout=15_000):
        panel.select_list("Watchlist")
    assert len(panel.model.keys()) == SEED_COUNT
    lists = saved(stocked_ctx)
    assert (lists.names(), lists.current) == (["Watchlist", "Bank stocks"], "Watchlist")
    assert lists.keys("Bank stocks") == banks
    panel.select_list("Bank stocks")
    panel.delete_list()
    assert panel.list_box.count() == 1 and panel.model.keys() == lists.keys("Watchlist")
    assert saved(stocked_ctx).names() == ["Watchlist"]


def test_the_name_dialog_creates_a_list(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    panel.new_action.trigger()
    dialog = panel.name_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.setTextValue("Momentum")
    dialog.accept()
    assert panel.lists.current == "Momentum" and panel.name_dialog is None


def test_live_prices_change_rows_in_place_and_survive_a_store_refresh(qtbot, stocked_ctx):
    panel = shown(qtbot, stocked_ctx)
    key = panel.model.keys()[1]
    prev = panel.model.row_of(key).prev_close
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    with qtbot.waitSignal(panel.model.dataChanged, timeout=2_000) as changed:
        assert panel.update_price(key, Decimal("1234.55"), 987_654)
        assert panel.update_price(key, Decimal("1234.60"), 987_700)  # coalesced: one repaint
    assert (changed.args[0].row(), changed.args[1].row()) == (1, 1)
    assert cell(panel, 1, LAST) == "1,234.60"
    assert cell(panel, 1, CHANGE) == price_text(123_460 - prev).join(
        ["+" if prev < 123_460 else "", ""]
    )
    assert cell(panel, 1, VOLUME) == "9.88 L"
    assert "(live)" in cell(panel, 1, SYMBOL, Qt.ItemDataRole.ToolTipRole)
    assert panel.update_price("NSE:NOSUCH", 100) is False
    with pytest.raises(ValueError, match="whole number of paise"):
        panel.update_price(key, Decimal("1.234"))
    with qtbot.waitSignal(panel.quotes_shown, timeout=15_000):
        stocked_ctx.bus.publish(MarketDataChanged("test"))
    assert cell(panel, 1, LAST) == "1,234.60"  # the live price is newer than the store's
    assert resets == []  # rows changed in place, the model never reset


def test_sparklines_are_painted_in_the_up_and_down_colours_in_both_themes(qtbot, stocked_ctx):
    app = QApplication.instance()
    panel = shown(qtbot, stocked_ctx)
    panel.resize(700, 600)
    panel.show()
    rows = panel.model.rows
    for theme in ("dark", "light"):
        apply_theme(app, theme)
        up, down = direction_colours(QApplication.palette())
        image = panel.table.viewport().grab().toImage()
        for row in range(6):
            closes = rows[row].closes
            want = up if closes[-1] >= closes[0] else down
            rect = panel.table.visualRect(panel.proxy.index(row, TREND))
            colours = {
                QColor(image.pixel(x, y)).name()
                for x in range(rect.left(), rect.right())
                for y in range(rect.top(), rect.bottom())
            }
            assert want.name() in colours, (theme, row)
    apply_theme(app, "dark")


def test_no_store_says_so(qtbot, make_ctx):
    ctx = make_ctx()
    ctx.store, ctx.store_problem = None, "the workspace is open in another Artha"
    panel = WatchlistPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.pages.currentWidget() is panel.message
    assert "market store is not open" in panel.message.text()
    assert "another Artha" in panel.message.text()
    assert panel.new_list("Later")  # the lists still work; they are the workspace's


def test_an_empty_store_says_what_to_do_then_fills_when_data_arrives(qtbot, make_ctx):
    ctx = make_ctx()
    panel = WatchlistPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.pages.currentWidget() is panel.message
    assert "No instruments in the market store yet" in panel.message.text()
    ctx.store.import_batch(demo_batch(generate_demo(count=3, days=3)))
    with qtbot.waitSignal(panel.quotes_shown, timeout=15_000):
        ctx.bus.publish(MarketDataChanged("import"))
    assert panel.pages.currentWidget() is panel.table
    assert len(panel.model.keys()) == 3 and saved(ctx).seeded
    assert ctx.jobs.wait(15)


def test_a_damaged_lists_file_is_named_and_kept(qtbot, stocked_ctx):
    settings = stocked_ctx.workspace.settings_dir
    (settings / FILE_NAME).write_text('{"version": 1, "lists": [')
    panel = shown(qtbot, stocked_ctx)
    kept = list(settings.glob(f"{FILE_NAME}.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"version": 1, "lists": ['
    assert len(panel.model.keys()) == SEED_COUNT  # started afresh
    assert panel.lists.problem and kept[0].name in panel.lists.problem


def test_texts_read_the_indian_way():
    assert [indian_digits(n) for n in (0, 999, 1_000, 100_000, 12_345_678, -1_234_567)] == [
        "0", "999", "1,000", "1,00,000", "1,23,45,678", "-12,34,567"
    ]  # fmt: skip
    assert [price_text(p) for p in (None, 5, 123_456_78, -250)] == [
        "—", "0.05", "1,23,456.78", "-2.50"
    ]  # fmt: skip
    assert [volume_text(v) for v in (None, 99_999, 100_000, 53_75_494, 1_24_00_000)] == [
        "—", "99,999", "1.00 L", "53.75 L", "1.24 Cr"
    ]  # fmt: skip


def test_the_panel_reads_a_real_workspace_settings_file(qtbot, stocked_ctx, workspace):
    """A second panel on the same workspace (a restart) shows the lists as left."""
    first = shown(qtbot, stocked_ctx)
    first.new_list("Swing")
    first.add_symbol(first.completer.model().stringList()[-1])
    second = WatchlistPanel(stocked_ctx)  # reads the file again, as after a restart
    qtbot.addWidget(second)
    assert second.list_box.currentText() == "Swing"
    assert second.model.keys() == [first.completer.model().stringList()[-1]]
