"""Exchange files that are wrong in ways the row checks cannot see: a day file holding two
dates, a contract traded after its expiry, BSE's business date differing from the trade
date (reliability report rows 38-40)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.bar_series import BarDataError
from engine.data.importers import read_file

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"


def edited(tmp_path: Path, name: str, line: int, old: str, new: str) -> Path:
    lines = (FIXTURES / name).read_text().splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_day_file_with_a_row_of_another_date_is_refused_at_that_line(tmp_path):
    path = edited(tmp_path, "cm03JUN2024bhav.csv", 3, "03-JUN-2024", "04-JUN-2024")
    with pytest.raises(BarDataError) as err:
        read_file(path)
    assert str(err.value) == (
        f"{path}:3: dated 2024-06-04, but the file is the bhavcopy of 2024-06-03 (its first "
        "row): one file holds one trading day"
    )


def test_a_contract_traded_after_its_expiry_is_refused(tmp_path):
    path = edited(tmp_path, "fo03JUN2024bhav.csv", 3, "06-Jun-2024", "31-May-2024")
    with pytest.raises(BarDataError, match=r":3: NIFTY\S+ expired on 2024-05-31, before the trade"):
        read_file(path)
    udiff = edited(
        tmp_path, "BhavCopy_NSE_FO_0_0_0_20250603_F_0000.csv", 3, "2025-06-05,2025-06-05",
        "2025-06-02,2025-06-02",
    )  # fmt: skip
    with pytest.raises(BarDataError, match=r":3: NIFTY2560525000CE expired on 2025-06-02"):
        read_file(udiff)


def test_a_business_date_other_than_the_trade_date_is_noted(tmp_path):
    name = "BhavCopy_BSE_CM_0_0_0_20250603_F_0000.CSV"
    path = edited(tmp_path, name, 2, "2025-06-03,2025-06-03", "2025-06-03,2025-06-04")
    batch = read_file(path)
    assert any(
        note.startswith("BizDt differs from TradDt on 1 row(s) (first: line 2, BizDt 2025-06-04")
        for note in batch.notes
    ), batch.notes
    assert not any("BizDt" in note for note in read_file(FIXTURES / name).notes)
