"""``python -m hepcal`` runs the command line."""

from hepcal.cli.main import run

run()
