"""The declared dependency ranges against the lock files: every version CI installs
(requirements/lock.txt) lies inside pyproject's ranges, the quick start's set
(requirements/run.txt) is the same versions for the core alone, and the oldest supported set
(requirements/oldest.txt) installs each core dependency at exactly its declared lower bound, so
the bounds are the versions that set tests. Reads files only: no resolver, no network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;#]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, Version]:
    """``name==version`` lines of a pip-compile style lock, by canonical name."""
    return {canonicalize_name(name): Version(version)
            for name, version in PIN.findall(path.read_text(encoding="utf-8"))}


def project() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        data: dict[str, object] = tomllib.load(handle)["project"]
    return data


def core() -> list[Requirement]:
    deps = project()["dependencies"]
    assert isinstance(deps, list)
    return [Requirement(d) for d in deps]


def extras() -> dict[str, list[Requirement]]:
    groups = project()["optional-dependencies"]
    assert isinstance(groups, dict)
    return {name: [Requirement(d) for d in deps if not d.startswith("synthbench")]
            for name, deps in groups.items()}


def lower_bound(req: Requirement) -> Version | None:
    """The ``>=`` bound of a requirement, or ``None`` when it has none."""
    floors = [Version(s.version) for s in req.specifier if s.operator == ">="]
    return max(floors) if floors else None


def locked_extras() -> list[Requirement]:
    """Every requirement the lock was compiled for: the core and the dev extra's closure
    (dev, api, ray); the weight packages' extras are data and stay out of the lock."""
    groups = extras()
    return [*core(), *groups["dev"], *groups["api"], *groups["ray"]]


def test_every_locked_version_satisfies_the_declared_range() -> None:
    locked = pins(REPO / "requirements" / "lock.txt")
    outside = []
    for req in locked_extras():
        version = locked.get(canonicalize_name(req.name))
        assert version is not None, f"{req.name} is declared but not in requirements/lock.txt"
        if not req.specifier.contains(version, prereleases=True):
            outside.append(f"{req.name} {version} not in {req.specifier}")
    assert not outside, "; ".join(outside) + ": run .ci/lock"


def test_the_lock_pins_every_package_with_a_hash() -> None:
    text = (REPO / "requirements" / "lock.txt").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    unhashed = [e.split()[0] for e in entries if "==" in e and "--hash=sha256:" not in e]
    assert not unhashed and len(entries) > 50


def test_the_lock_takes_the_cpu_build_of_torch() -> None:
    locked = pins(REPO / "requirements" / "lock.txt")
    assert locked["torch"].local == "cpu"
    assert not [name for name in locked if name.startswith("nvidia-")]


def test_oldest_set_is_the_declared_lower_bounds() -> None:
    oldest = pins(REPO / "requirements" / "oldest.txt")
    wrong = []
    for req in core():
        floor = lower_bound(req)
        assert floor is not None, f"{req.name} has no lower bound"
        got = oldest.get(canonicalize_name(req.name))
        if got is None or Version(got.public) != floor:
            wrong.append(f"{req.name}: declared >={floor}, oldest.txt has {got}")
    assert not wrong, "; ".join(wrong) + ": run .ci/lock"


def test_every_declared_dependency_has_a_lower_bound_and_no_exact_pin() -> None:
    for req in locked_extras():
        assert lower_bound(req) is not None, req
        assert not [s for s in req.specifier if s.operator in ("==", "~=")], req


@pytest.mark.parametrize("compromised", ["1.82.7", "1.82.8"])
def test_the_compromised_litellm_releases_never_resolve(compromised: str) -> None:
    (litellm,) = [r for r in extras()["api"] if r.name == "litellm"]
    assert not litellm.specifier.contains(compromised)
    assert pins(REPO / "requirements" / "lock.txt")["litellm"] != Version(compromised)


def test_the_quick_start_set_is_the_lock_without_the_extras() -> None:
    run, locked = pins(REPO / "requirements" / "run.txt"), pins(REPO / "requirements" / "lock.txt")
    assert {canonicalize_name(r.name) for r in core()} <= set(run)
    assert {name: v for name, v in run.items() if locked.get(name) != v} == {}
    assert "litellm" not in run and "pytest" not in run and "mkdocs" not in run
