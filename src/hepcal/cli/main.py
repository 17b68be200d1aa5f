"""The ``hepcal`` command: a typer app assembled from one module per command group."""

from __future__ import annotations

import importlib

from typing import Annotated

import typer

from hepcal import __version__

app = typer.Typer(
    name="hepcal",
    help="Decision support for calcified liver lesions: ranked differential, malignancy "
    "probability, next finding and recommendation, with the basis shown.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines register(app). Order is the order of `hepcal --help`.
COMMAND_MODULES: tuple[str, ...] = ("assess", "validate", "scan", "report", "serve", "users", "batch", "listen", "kb")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hepcal {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """hepcal: calcified liver lesions, reasoned explicitly."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"hepcal.cli.{_name}").register(app)


def run() -> None:
    """Console-script entry point."""
    app()
