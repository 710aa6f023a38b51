"""`kubevision submit`: upload files, queue them, follow them to the end, print the results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kubevision.follow import latest_event_id, status_events

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
_FINISHED = ("done", "failed")


@dataclass
class Submission:
    path: Path
    image_id: str | None = None
    task_id: str | None = None
    state: str = "pending"
    error: str | None = None
    task: dict[str, Any] = field(default_factory=dict)


def collect_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The files named and the image files inside the folders named, in a stable order; and
    the other files in those folders, which are left out."""
    files: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        for found in sorted(p for p in path.rglob("*") if p.is_file()):
            (files if found.suffix.lower() in IMAGE_SUFFIXES else skipped).append(found)
    return files, skipped


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code}: {response.text[:200]}"


def _send(client: httpx.Client, item: Submission, tasks: list[str] | None) -> None:
    try:
        with item.path.open("rb") as handle:
            response = client.post("/upload", files={"file": (item.path.name, handle)})
    except OSError as exc:
        item.state, item.error = "failed", f"cannot read {item.path}: {exc}"
        return
    if response.status_code not in (200, 201):
        item.state, item.error = "refused", _error_text(response)
        return
    item.image_id = response.json()["id"]

    body = {"tasks": tasks} if tasks else None
    response = client.post(f"/process/{item.image_id}", json=body)
    if response.status_code not in (200, 202):
        item.state, item.error = "failed", _error_text(response)
        return
    accepted = response.json()
    item.task_id, item.state = accepted["task_id"], accepted["state"]


def _poll(client: httpx.Client, item: Submission) -> None:
    response = client.get(f"/task/{item.task_id}")
    if response.status_code == 200:
        item.task = response.json()
        item.state = item.task["state"]
        if item.state == "failed" and item.task.get("error"):
            item.error = f"{item.task['error']['code']}: {item.task['error']['message']}"


def summarise(task: dict[str, Any]) -> list[str]:
    """One line per model result, for people."""
    lines: list[str] = []
    for name, result in (task.get("results") or {}).items():
        items = result.get("items") or []
        if name == "classify":
            top = ", ".join(f"{i['label']} {i['score']:.2f}" for i in items[:3])
            lines.append(f"classify: {top}")
        elif name == "ocr":
            text = (result.get("text") or "").replace("\n", " | ")
            lines.append(f"ocr: {len(items)} lines: {text[:120]}")
        else:
            shown = ", ".join(f"{i['label']} {i['score']:.2f} @ "
                              f"{[round(v) for v in i['box']]}" for i in items[:6] if i.get("box"))
            lines.append(f"{name}: {len(items)} found {shown}")
        lines[-1] += f"  [{result.get('provider')}, {result.get('duration_ms', 0):.1f} ms]"
    return lines


def run_submit(paths: list[Path], *, base_url: str, wait: bool, tasks: list[str] | None,
               timeout_s: float, as_json: bool, console: Console) -> int:
    """Submit everything; returns how many files were refused or failed."""
    files, skipped = collect_files(paths)
    if skipped:
        names = ", ".join(escape(str(path)) for path in skipped[:3])
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        console.print(f"[yellow]skipped {len(skipped)} file(s) whose names are not of images "
                      f"({', '.join(sorted(IMAGE_SUFFIXES))}): {names}{more}[/]")
    items = [Submission(path=path) for path in files]
    if not items:
        console.print("[red]no image files found[/]")
        return 1

    try:
        _submit_all(items, base_url=base_url, wait=wait, tasks=tasks, timeout_s=timeout_s,
                    console=console)
    except httpx.TransportError as exc:
        console.print(f"[red]cannot reach KubeVision at {base_url}: {escape(str(exc))}[/] "
                      "(is `kubevision up` running there? --url names another address)")
        return len(items)

    failures = 0
    for item in items:
        ok = item.state == "done" or (not wait and item.task_id is not None)
        failures += not ok
        if as_json:
            print(json.dumps({"path": str(item.path), "image_id": item.image_id,
                              "task_id": item.task_id, "state": item.state,
                              "error": item.error, "results": item.task.get("results")}))
            continue
        colour = "green" if ok else "red"
        console.print(f"[{colour}]{item.state:>10}[/] {escape(str(item.path))}  "
                      f"image={item.image_id}")
        if item.error:
            console.print(f"           {escape(item.error)}")
        for line in summarise(item.task):
            console.print(f"           {escape(line)}")
    return failures


def _submit_all(items: list[Submission], *, base_url: str, wait: bool, tasks: list[str] | None,
                timeout_s: float, console: Console) -> None:
    """Upload and queue every item, then (with ``wait``) follow them until they finish."""
    with httpx.Client(base_url=base_url, timeout=60) as client, Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:
        # Where the event stream stands before anything is sent: every change to our tasks
        # comes after it. None when this address has no event stream.
        start = _start_of_events(client) if wait else None
        sending = progress.add_task("uploading", total=len(items))
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in pool.map(lambda item: _send(client, item, tasks), items):
                progress.advance(sending)

        if wait:
            queued = [item for item in items if item.task_id is not None]
            waiting = progress.add_task("processing", total=len(queued))

            def advance() -> None:
                progress.update(waiting, completed=sum(i.state in _FINISHED for i in queued))

            deadline = time.monotonic() + timeout_s
            # A broken stream is not a failure: what is still open is asked for below.
            with suppress(httpx.HTTPError, ValueError, KeyError):
                if start is not None:
                    _follow(client, queued, start, deadline, advance)
            # Without an event stream at this address, or after one broke: ask for each task.
            _poll_until(client, queued, deadline, advance)
            for item in queued:
                if item.state not in _FINISHED:
                    item.state, item.error = "timeout", f"not finished after {timeout_s} s"


def _start_of_events(client: httpx.Client) -> int | None:
    try:
        return latest_event_id(client)
    except (httpx.HTTPError, ValueError):
        return None


def _open(queued: list[Submission]) -> list[Submission]:
    # A task that was already done (the same image processed before) is fetched once all the
    # same, for its results.
    return [item for item in queued if item.state not in _FINISHED or not item.task]


def _follow(client: httpx.Client, queued: list[Submission], start: int, deadline: float,
            advance: Callable[[], None]) -> None:
    """Wait on the event stream; fetch each task once, when its finishing change arrives."""
    # Identical files share one image and so one task: each of them waits for it.
    by_task: dict[str | None, list[Submission]] = {}
    for item in queued:
        by_task.setdefault(item.task_id, []).append(item)
    for already in _open(queued):
        if already.state in _FINISHED:
            _poll(client, already)
    advance()
    if not _open(queued):
        return
    for change in status_events(client, after=start, deadline=deadline):
        if change.state in _FINISHED:
            for finished in by_task.get(change.task_id, []):
                if finished.state not in _FINISHED:
                    _poll(client, finished)
            advance()
        if not _open(queued):
            return


def _poll_until(client: httpx.Client, queued: list[Submission], deadline: float,
                advance: Callable[[], None]) -> None:
    while time.monotonic() < deadline:
        open_items = _open(queued)
        if not open_items:
            return
        for item in open_items:
            _poll(client, item)
        advance()
        time.sleep(0.2)
