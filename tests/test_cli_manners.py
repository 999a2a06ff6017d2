"""The command line's manners: a version, every command in --help, a quiet closed pipe, a light
--help (no heavy library imported just to print usage)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthbench.cli import build_parser, main


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synthbench.cli", *args], capture_output=True,
                          text=True, env=os.environ, timeout=120)


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("synthbench ") and out.split()[1][0].isdigit()


def test_help_lists_every_command() -> None:
    parser = build_parser()
    text = parser.format_help()
    for command in ("run", "list", "leaderboard", "validate", "recheck", "export",
                    "subjectivity"):
        assert command in text


def test_closed_pipe_ends_quietly() -> None:
    """The reader stops after one line: no traceback, no 'internal error', exit 0."""
    proc = subprocess.Popen([sys.executable, "-m", "synthbench.cli", "list", "tasks"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert code in (0, 141), err
    assert "Traceback" not in err and "internal error" not in err and "BrokenPipe" not in err



def test_offline_without_a_data_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """No hub and no --data-dir: one line naming --data-dir, before any task is loaded."""
    monkeypatch.delenv("SYNTHBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["run", "--model", "mock/a", "--task", "trec", "--n", "12",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "--data-dir" in err
    assert not (tmp_path / "out").exists()
