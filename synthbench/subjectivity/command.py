"""``synthbench subjectivity`` and the measured columns of ``synthbench list tasks``; thin,
and light to import (the protocol loads only when the command runs)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.plugins import Plugins


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--judge", required=True, metavar="MODEL",
                        help="the judge, a model id (provider/model)")
    parser.add_argument("--task", action="append",
                        help="task id(s), repeat or comma-separate (default: every task)")
    parser.add_argument("--samples", type=int, default=3,
                        help="judgments per pair and order, each with its own seeded examples "
                        "(default 3)")
    parser.add_argument("--examples-per-label", type=int, default=2,
                        help="real training examples per label on each task card (default 2)")
    parser.add_argument("--method", choices=["auto", "logprobs", "text"], default="auto",
                        help="read the answer from log-probabilities of A/B (auto: where the "
                        "judge can score replies) or from its text")
    parser.add_argument("--seed", type=int, default=0, help="seed of the examples (default 0)")
    parser.add_argument("--rounds", type=int, default=1000,
                        help="bootstrap rounds for the intervals (default 1000)")
    parser.add_argument("--data-dir", help="offline task data: DIR/<task>/train.jsonl "
                        "(default $SYNTHBENCH_DATA_DIR, else the Hugging Face hub)")
    parser.add_argument("--out", default="results",
                        help="results directory; the record goes to OUT/subjectivity/ "
                        "(default results/)")


def run_command(args: argparse.Namespace, plugins: Plugins, note: Callable[[str], None],
                environ: Mapping[str, str]) -> int:
    """``synthbench subjectivity``; ``environ``: the edge's environment (data folder, cache)."""
    from synthbench.calls.context import CallContext
    from synthbench.data import resolve_data_dir
    from synthbench.subjectivity.protocol import ProtocolSettings, summary
    from synthbench.subjectivity.run import measure_tasks

    tasks = [t.strip() for value in args.task or [] for t in value.split(",") if t.strip()]
    settings = ProtocolSettings(samples=args.samples, examples_per_label=args.examples_per_label,
                                method=args.method, seed=args.seed, rounds=args.rounds)
    record = measure_tasks(plugins, args.judge, tasks or None,
                           resolve_data_dir(args.data_dir, environ), Path(args.out), settings,
                           log=note, calls=CallContext.from_environ(environ))
    print(summary(record))
    run = record["run"]
    print(f"\n{run['called']} judgment(s) asked, {run['cached']} from the request cache, "
          f"{run['reused']} from stored records; {run['seconds']} s\nrecord: {record['path']}")
    return 0


def with_measured(headers: Sequence[str], rows: Sequence[Sequence[Any]], results: Path
                  ) -> tuple[list[str], list[list[Any]]]:
    """The task table with measured subjectivity and its judge added, when ``results`` holds
    a record; unchanged otherwise. Rows start with the task id."""
    from synthbench.subjectivity.store import best_record, chosen_fit, judge_warnings

    if not results.is_dir():
        return list(headers), [list(r) for r in rows]
    found = best_record(results, [str(r[0]) for r in rows])
    if found is None:
        return list(headers), [list(r) for r in rows]
    _, record = found
    scores = chosen_fit(record)[1]["scores"]
    judge = f"{record['judge']['id']} (p{record['protocol']['version']})" + (
        ", failed its diagnostics" if judge_warnings(record) else "")
    out = []
    for row in rows:
        score = scores.get(str(row[0]))
        shown = "–" if score is None else \
            f"{score['score']:.2f} [{score['ci'][0]:.2f}, {score['ci'][1]:.2f}]"
        out.append([*row[:3], shown, judge if score else "", *row[3:]])
    head = list(headers)
    return [*head[:2], "declared", "measured [95% CI]", "judge", *head[3:]], out

