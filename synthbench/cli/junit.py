"""``run --junitxml``: the run as a JUnit XML report for CI, one testcase per cell. Built with
ElementTree (which escapes markup) after dropping the characters XML 1.0 cannot hold, and
written atomically."""

from __future__ import annotations

import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synthbench.errors import SynthbenchError
from synthbench.record import CellRecord
from synthbench.store import atomic_write_text

# Not allowed anywhere in an XML 1.0 document: most C0 controls, lone surrogates, U+FFFE/F.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class CaseReport:
    """One cell as a testcase. ``failure``: the cell ran and raised; ``error``: the run failed
    without blaming a cell; ``skipped``: the cell was not reached."""

    classname: str
    name: str
    seconds: float = 0.0
    properties: tuple[tuple[str, str], ...] = ()
    failure: str | None = None
    detail: str = ""
    error: str | None = None
    skipped: str | None = None


def passed(classname: str, name: str, record: CellRecord, reused: bool) -> CaseReport:
    """A finished cell with its headline figures per classifier; a reused cell took no time."""
    props: list[tuple[str, str]] = [("reused", str(reused).lower())]
    for classifier, result in sorted(record.classifiers.items()):
        for key, value in (("macro_f1.synthetic", result.synthetic.macro_f1),
                           ("macro_f1.real", result.real.macro_f1),
                           ("utility", result.utility)):
            if value is not None:
                props.append((f"{classifier}.{key}", f"{value:.6g}"))
    seconds = 0.0 if reused else float(sum(record.timings.values()))
    return CaseReport(classname, name, seconds, tuple(props))


def failed(classname: str, name: str, exc: BaseException) -> CaseReport:
    """A cell that raised: its one-line message, and the traceback unless it is a user error."""
    message = str(exc) if isinstance(exc, SynthbenchError) else f"{type(exc).__name__}: {exc}"
    detail = "" if isinstance(exc, SynthbenchError) else "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__))
    return CaseReport(classname, name, failure=message, detail=detail)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def to_xml(cases: Sequence[CaseReport], suite: str = "synthbench") -> str:
    """The report as an XML document."""
    import xml.etree.ElementTree as ET

    def count(attr: str) -> str:
        return str(sum(getattr(case, attr) is not None for case in cases))

    root = ET.Element("testsuites")
    node = ET.SubElement(root, "testsuite", {
        "name": _clean(suite), "tests": str(len(cases)), "failures": count("failure"),
        "errors": count("error"), "skipped": count("skipped"),
        "time": f"{sum(case.seconds for case in cases):.3f}"})
    for case in cases:
        element = ET.SubElement(node, "testcase", {"classname": _clean(case.classname),
                                                   "name": _clean(case.name),
                                                   "time": f"{case.seconds:.3f}"})
        if case.properties:
            props = ET.SubElement(element, "properties")
            for key, value in case.properties:
                ET.SubElement(props, "property", {"name": _clean(key), "value": _clean(value)})
        for tag, message in (("failure", case.failure), ("error", case.error),
                             ("skipped", case.skipped)):
            if message is not None:
                child = ET.SubElement(element, tag, {"message": _clean(message)})
                child.text = _clean(case.detail or message) if tag != "skipped" else None
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def write_junitxml(path: Path, cases: Sequence[CaseReport]) -> None:
    """Write the report atomically: a CI job never reads half of one."""
    atomic_write_text(path, to_xml(cases))
