"""A small reader of the repository's Dockerfile: its stages and what each one inherits.

Enough for the checks hadolint does not make (every image target runs as a non-root user, has
a HEALTHCHECK, starts from a base pinned to an exact version); not a general parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .manifests import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"


@dataclass
class Stage:
    """One ``FROM`` and the instructions under it."""

    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, keyword: str) -> str | None:
        """Arguments of the stage's last instruction ``keyword``, if it has one."""
        found = [arguments for word, arguments in self.instructions if word == keyword]
        return found[-1] if found else None


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """``(KEYWORD, arguments)`` pairs, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    pairs = []
    for text in logical:
        keyword, _, arguments = text.partition(" ")
        pairs.append((keyword.upper(), arguments.strip()))
    return pairs


def stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    """Stage name to stage, in file order, with global ``ARG`` defaults substituted in FROM."""
    global_args: dict[str, str] = {}
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, arguments in instructions(path):
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", arguments, re.I)
            if match is None:
                raise ValueError(f"cannot read FROM {arguments!r}")
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m[1], m[0]), match[1])
            current = Stage(base=base, name=match[2] or f"stage-{len(found)}")
            found[current.name] = current
        elif current is None and keyword == "ARG":
            name, _, default = arguments.partition("=")
            global_args[name] = default
        elif current is not None:
            current.instructions.append((keyword, arguments))
    return found


def lineage(name: str, all_stages: dict[str, Stage]) -> list[Stage]:
    """The stage and the stages it is built on, nearest first, down to an external image."""
    chain = [all_stages[name]]
    while chain[-1].base in all_stages:
        chain.append(all_stages[chain[-1].base])
    return chain


def inherited(name: str, keyword: str, all_stages: dict[str, Stage]) -> str | None:
    """The value of ``keyword`` that applies in stage ``name`` (its own, else its parent's)."""
    for stage in lineage(name, all_stages):
        value = stage.last(keyword)
        if value is not None:
            return value
    return None
