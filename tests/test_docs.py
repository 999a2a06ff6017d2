"""The docs pages written at build time (docs/hooks.py): the CLI reference names every
subcommand and option the real parser has, and the findings page carries every row of the
committed leaderboard, its own findings block first. (.ci/run builds the site with
``mkdocs build --strict``, which fails on broken links.)"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from synthbench.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synthbench_docs_hooks",
                                                  REPO / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = load_hooks()


def board() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "leaderboard" / "leaderboard.json")
                                      .read_text(encoding="utf-8"))
    return data


def test_cli_reference_has_every_subcommand_and_option() -> None:
    parser = build_parser()
    page = hooks.cli_reference(parser)
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert subparsers
    for name, sub in subparsers[0].choices.items():
        assert f"## synthbench {name}\n" in page
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in page, f"{name} {option}"
    assert "%%" not in page and "``synthbench``" not in page  # help expanded, rst cleaned
    assert "`--force-reinstall`" in page  # models install


def test_findings_show_every_leaderboard_row() -> None:
    data = board()
    page = hooks.findings(data)
    for row in data["rows"]:
        assert f"| {hooks._label(row)} |" in page
    assert f"{len(data['rows'])} rows" in page
    if data.get("measured_subjectivity", {}).get("warnings"):
        assert "The judge failed a diagnostic" in page


def test_a_findings_block_comes_first_and_is_rendered_whatever_its_shape() -> None:
    data = {**board(), "findings": {"generator": ["few-shot beats zero-shot on 11 tasks"],
                                    "size": [{"text": "the larger model is more faithful"}]}}
    page = hooks.findings(data)
    assert page.index("few-shot beats zero-shot") < page.index("## Rows")
    assert "- the larger model is more faithful" in page and "### size" in page


def test_gap_closed_becomes_a_column_once_rows_carry_it() -> None:
    data = board()
    rows = [{**data["rows"][0], "mean_gap_closed": 0.4321}]
    page = hooks.findings({**data, "rows": rows})
    assert "gap closed" in page and "0.432" in page


def page(src: str) -> Any:
    return SimpleNamespace(file=SimpleNamespace(src_path=src))


def test_the_hook_replaces_the_marker_and_leaves_other_pages() -> None:
    text = f"# CLI\n\n{hooks.MARKER}\n"
    built = hooks.on_page_markdown(text, page("cli.md"), None, None)
    assert hooks.MARKER not in built and "## synthbench run" in built
    assert hooks.on_page_markdown("# Plain\n", page("index.md"), None, None) == "# Plain\n"
    with pytest.raises(ValueError, match="no generator"):
        hooks.on_page_markdown(text, page("other.md"), None, None)


def test_the_committed_generated_pages_hold_the_marker() -> None:
    for name in ("cli.md", "findings.md", "subjectivity.md"):
        assert hooks.MARKER in (REPO / "docs" / name).read_text(encoding="utf-8")


def test_the_rating_judge_table_says_which_marks_pass() -> None:
    """The subjectivity page's table follows the record: a failed mark says so, the
    verdict is no, and no record gives a sentence, not an empty table."""
    record = {
        "judge": "local/x", "seconds": 12.0, "criteria": {
            "direction_spearman_min": 0.5, "split_half_spearman_min": 0.5,
            "signal_to_noise_min": 2.0},
        "diagnostics": {"direction_spearman": 0.21, "split_half_spearman": 0.8,
                        "signal_to_noise": 3.1, "passed": False,
                        "checks": {"direction_spearman": False, "split_half_spearman": True,
                                   "signal_to_noise": True}},
        "raw_diagnostics": {"direction_spearman": -0.4},
        "declared": {"n_tasks": 15, "kendall_tau": 0.1, "kendall_tau_ci": [-0.2, 0.4],
                     "spearman_rho": 0.15, "spearman_rho_ci": [-0.4, 0.6]},
        "content_free_prior": {"objective_low": [0.1, 0.2, 0.4, 0.2, 0.1],
                               "subjective_low": [0.2, 0.2, 0.2, 0.2, 0.2]},
    }
    table = hooks.judge_rating([record])
    assert "0.21 (≥ 0.5: fails)" in table and "0.80 (≥ 0.5: passes)" in table
    assert "| **no** |" in table and "0.10 [-0.20, 0.40]" in table
    assert "ρ = -0.40" in table
    assert "No rating-judge record" in hooks.judge_rating([])
    built = hooks.on_page_markdown(f"# S\n\n{hooks.MARKER}\n", page("subjectivity.md"),
                                   None, None)
    assert hooks.MARKER not in built
