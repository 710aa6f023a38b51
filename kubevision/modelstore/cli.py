"""`kubevision models`: build the model store and list what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kubevision.modelstore.build import build_models
from kubevision.modelstore.errors import ModelStoreError
from kubevision.modelstore.store import ModelStore, default_model_dir

app = typer.Typer(help="Build and inspect the ONNX model store.", no_args_is_help=True)

ModelDirOption = Annotated[
    Path | None,
    typer.Option(
        "--model-dir",
        help="Store folder; defaults to KV_MODEL_DIR, else 'models' under KV_DATA_DIR.",
        file_okay=False,
    ),
]


@app.command()
def build(
    names: Annotated[list[str] | None, typer.Argument(help="Model ids; all when none.")] = None,
    model_dir: ModelDirOption = None,
) -> None:
    """Download the pinned sources, convert them to ONNX and verify the checksums."""
    store = ModelStore(model_dir or default_model_dir())
    console = Console(stderr=True)
    try:
        outcomes = build_models(store, names, console)
    except ModelStoreError as error:
        # Messages name install commands like kubevision[build]; markup must not eat them.
        console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(1) from error

    built = sum(outcome.built for outcome in outcomes)
    console.print(f"{built} built, {len(outcomes) - built} already there, in {store.directory}")


@app.command("list")
def list_models(model_dir: ModelDirOption = None) -> None:
    """Show each model with its size, source, licence and whether it is built."""
    store = ModelStore(model_dir or default_model_dir())
    table = Table(title=f"models in {store.directory}")
    for column in ("model", "task", "size", "source", "licence", "built"):
        table.add_column(column)

    for model_id in store.manifest.ids:
        spec = store.spec(model_id)
        size = store.size_bytes(model_id)
        table.add_row(
            model_id,
            spec.task,
            f"{size / 1e6:.1f} MB" if size is not None else "-",
            f"{spec.source.manager}:{spec.source.requirement}",
            spec.licence,
            "yes" if store.is_built(model_id) else "no",
        )
    Console().print(table)
