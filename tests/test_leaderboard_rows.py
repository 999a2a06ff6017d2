"""Leaderboard rows from typed records: dollars per cell and per F1 point for priced models,
and nothing added for free ones (so boards of local models keep their bytes)."""

from __future__ import annotations

import pytest
from records import cell_record

from synthbench.leaderboard import build


def test_priced_rows_show_dollars_per_cell_and_per_f1_point() -> None:
    paid = [cell_record("sst2", seed, model="openai/gpt-4o-mini", f1=f1, usd=usd)
            for seed, f1, usd in ((0, 0.4, 0.02), (1, 0.6, 0.04))]
    free = [cell_record("sst2", seed, model="local", f1=0.5) for seed in (0, 1)]
    rows = {r["model"]: r for r in build([*paid, *free])["rows"]}
    assert rows["openai/gpt-4o-mini"]["usd_per_cell"] == pytest.approx(0.03)
    assert rows["openai/gpt-4o-mini"]["usd_per_f1_point"] == pytest.approx(0.03 / 50)
    assert "usd_per_cell" not in rows["local"] and "usd_per_f1_point" not in rows["local"]
