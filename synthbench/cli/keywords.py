"""``run -k EXPR``: pick cells of the planned grid by their ids, the way pytest's ``-k`` picks
tests. EXPR is bare words joined by ``and``, ``or``, ``not`` and parentheses; a word matches a
cell when it is a case-insensitive substring of one of the cell's ids. Parsed by a small
recursive descent here, never evaluated as Python."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from synthbench.cli.common import UsageError
from synthbench.record import CellConfig

Match = Callable[[Sequence[str]], bool]
_TOKEN = re.compile(r"(\()|(\))|([^\s()]+)")
_OPERATORS = ("and", "or", "not")


def cell_ids(config: CellConfig) -> list[str]:
    """What ``-k`` words are matched against: the cell's name, task, model, generator,
    ``s<seed>``, intervention steps, oracle and generator parameters as ``key=value``."""
    steps = [step for step, _ in config.interventions]
    return [cell_name(config), config.task, config.model, config.generator, f"s{config.seed}",
            *steps, *([config.oracle] if config.oracle else []),
            *(f"{key}={value}" for key, value in sorted(config.generator_params.items()))]


def cell_name(config: CellConfig) -> str:
    """The cell's readable name, the stored folder's name without its hash."""
    name = f"{config.task}__{config.model}__{config.generator}__s{config.seed}"
    if config.interventions:
        name += "__" + "+".join(step for step, _ in config.interventions)
    return name + (f"__oracle-{config.oracle}" if config.oracle else "")


class _Parser:
    """expr := and ('or' and)* ; and := not ('and' not)* ; not := 'not' not | atom ;
    atom := '(' expr ')' | WORD"""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [(token, found.end() - len(token)) for found in _TOKEN.finditer(text)
                       for token in [found.group(1) or found.group(2) or found.group(3)]]
        self.at = 0

    def fail(self, problem: str) -> UsageError:
        column = self.tokens[self.at][1] + 1 if self.at < len(self.tokens) else len(self.text) + 1
        return UsageError(f"-k {self.text!r}: {problem} at column {column}")

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.at][0]
        self.at += 1
        return token

    def parse(self) -> Match:
        match = self.expr()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return match

    def expr(self) -> Match:
        parts = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda ids: any(p(ids) for p in parts)

    def conjunction(self) -> Match:
        parts = [self.negation()]
        while self.peek() == "and":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else lambda ids: all(p(ids) for p in parts)

    def negation(self) -> Match:
        if self.peek() == "not":
            self.take()
            inner = self.negation()
            return lambda ids: not inner(ids)
        return self.atom()

    def atom(self) -> Match:
        token = self.peek()
        if token is None:
            raise self.fail("expected a word or '('")
        if token == "(":
            self.take()
            inner = self.expr()
            if self.peek() != ")":
                raise self.fail("expected ')'")
            self.take()
            return inner
        if token == ")" or token in _OPERATORS:
            raise self.fail(f"expected a word or '(', got {token!r}")
        word = self.take().lower()
        return lambda ids: any(word in i.lower() for i in ids)


def compile_keywords(text: str) -> Match:
    """The predicate on a cell's ids that ``text`` describes; a malformed one is a one-line
    ``UsageError`` pointing at the column."""
    return _Parser(text).parse()


def select(configs: Sequence[CellConfig], text: str) -> list[CellConfig]:
    """The cells of ``configs``, in order, that ``-k text`` matches."""
    match = compile_keywords(text)
    return [config for config in configs if match(cell_ids(config))]
