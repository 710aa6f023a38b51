"""The `kubevision` command line."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from kubevision.modelstore.cli import app as models_app
from kubevision.settings import Settings
from kubevision.settings import load_settings as _load_settings

app = typer.Typer(help="KubeVision: upload images, run ONNX models on them, follow the results.",
                  no_args_is_help=True, add_completion=False)
console = Console(stderr=True, soft_wrap=True)


def load_settings() -> Settings:
    """The settings, or one line per bad value naming its variable, and exit code 2."""
    try:
        return _load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "KV_" + "__".join(str(part) for part in error["loc"]).upper()
            console.print(f"[red]{escape(variable)}={escape(repr(error.get('input')))}: "
                          f"{escape(error['msg'])}[/]")
        raise typer.Exit(2) from None


_APPS = {
    "upload": "functions.upload.app:app",
    "process": "functions.process.app:app",
    "status": "functions.status.app:app",
    "bridge": "bridge.app:app",
    "gateway": "kubevision.gateway:app",
}


@app.command()
def serve(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(_APPS)}")],
    host: Annotated[str, typer.Option(help="Address to listen on")] = "0.0.0.0",
    port: Annotated[int | None, typer.Option(help="Port; default $PORT or 8080")] = None,
) -> None:
    """Serve one function, the bridge, or all functions together (gateway)."""
    import uvicorn

    if name not in _APPS:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(_APPS)}")
    settings = load_settings()
    uvicorn.run(_APPS[name], host=host, port=port or settings.port, log_level="warning",
                access_log=False, timeout_graceful_shutdown=10)


@app.command()
def worker() -> None:
    """Run a Celery worker with the models loaded."""
    from worker.app import run_worker

    run_worker(load_settings())


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from kubevision.context import AppContext
    from kubevision.db.migrate import upgrade_database
    from kubevision.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    context = AppContext.create(settings)
    upgrade_database(context.engine)
    context.close()


@app.command()
def reap() -> None:
    """One pass that queues again the tasks whose worker was lost."""
    from kubevision.context import AppContext
    from kubevision.logs import configure_logging
    from kubevision.reaper import reap_once

    settings = load_settings()
    configure_logging(settings.log_level)
    context = AppContext.create(settings)
    report = reap_once(context, context.celery)
    typer.echo(json.dumps(report.__dict__))
    context.close()


@app.command()
def up(
    port: Annotated[int, typer.Option(help="Functions' port; the bridge gets port+1")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    split: Annotated[bool, typer.Option(help="Each function on its own port")] = False,
    worker_health_port: Annotated[int, typer.Option(help="Worker health port")] = 8090,
) -> None:
    """Run the whole system on this machine until Ctrl-C."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from kubevision.local import StartError, plan, start
    from kubevision.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    # This process only asks each part for /readyz; a log line per question is noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    system_plan = plan(host, port, split, worker_health_port)
    stopping = False

    def _stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        system = start(settings, system_plan)
    except ArgumentError:
        _fail("KV_DATABASE_URL cannot be read as a database URL; expected one like "
              "postgresql://user@host:5432/kubevision, or leave it unset for SQLite")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _fail(f"the database does not answer: {reason}")
    except OSError as exc:
        _fail(f"cannot start: {exc}")
    except StartError as exc:
        _fail(str(exc))

    failed = False
    try:
        system.wait_ready(timeout_s=180, stopping=lambda: stopping)
        if not stopping:
            for name in system_plan.ports:
                console.print(f"[green]{name}[/] ready on {system_plan.url(name)}")
            console.print("KubeVision is up; Ctrl-C stops it.")
        while not stopping:
            for name, process in system.processes.items():
                if process.poll() is not None:
                    console.print(f"[red]{name} exited with code {process.returncode}; "
                                  "stopping the rest[/]")
                    stopping = failed = True
            time.sleep(0.5)
    except (TimeoutError, RuntimeError) as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        failed = True
    system.stop()
    if failed:
        raise typer.Exit(1)


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{escape(message)}[/]")
    raise typer.Exit(1)


@app.command()
def submit(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders")],
    url: Annotated[str, typer.Option(help="Base URL of the functions")] = "http://127.0.0.1:8000",
    wait: Annotated[bool, typer.Option(help="Wait for the results and print them")] = False,
    tasks: Annotated[str | None, typer.Option(help="Comma-separated tasks; default all")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for all results")] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON lines")] = False,
) -> None:
    """Upload images, queue them for processing, and (with --wait) print each result."""
    from kubevision.submit import run_submit

    task_list = [name.strip() for name in tasks.split(",")] if tasks else None
    failures = run_submit(paths, base_url=url.rstrip("/"), wait=wait, tasks=task_list,
                          timeout_s=timeout, as_json=as_json, console=console)
    sys.exit(1 if failures else 0)


@app.command()
def backup(
    dest: Annotated[str, typer.Argument(help="A folder, or s3://bucket/prefix")],
) -> None:
    """Back up the metadata and the blobs (only those DEST lacks) as a new snapshot."""
    from kubevision.backup.run import create_backup

    settings = load_settings()
    if settings.database_url is None and not settings.sqlite_file.exists():
        # Opening it would make an empty system there, and back that up.
        _fail(f"backup failed: no KubeVision database at {settings.sqlite_file}; "
              "is KV_DATA_DIR right?")
    _run_backup_command(settings, "backup failed", lambda context, repository:
                        create_backup(context, repository), dest)


@app.command()
def restore(
    src: Annotated[str, typer.Argument(help="A folder, or s3://bucket/prefix")],
    snapshot: Annotated[str | None, typer.Option(help="Snapshot name; default the latest")]
    = None,
) -> None:
    """Restore a snapshot into an EMPTY system; refuses a damaged backup or a used target."""
    from kubevision.backup.run import restore_backup

    if "://" not in src and not Path(src).is_dir():
        _fail(f"restore refused: there is no backup folder at {src}")
    _run_backup_command(load_settings(), "restore refused", lambda context, repository:
                        restore_backup(context, repository, snapshot), src)


def _run_backup_command(settings: Settings, failure: str, action: Callable[[Any, Any], Any],
                        location: str) -> None:
    """Run a backup or restore against the configured system; print its report as JSON, or
    the reason it could not run (exit code 1)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from kubevision.backup import BackupError
    from kubevision.backup.repository import open_repository
    from kubevision.context import AppContext
    from kubevision.logs import configure_logging

    configure_logging(settings.log_level)
    context = AppContext.create(settings)
    try:
        report = action(context, open_repository(location, settings.blob))
    except (BackupError, OSError, BotoCoreError, ClientError) as exc:
        console.print(f"[red]{failure}: {escape(str(exc))}[/]")
        raise typer.Exit(1) from exc
    finally:
        context.close()
    typer.echo(json.dumps(report.__dict__))


app.add_typer(models_app, name="models", help="Build and list the ONNX model store.")
