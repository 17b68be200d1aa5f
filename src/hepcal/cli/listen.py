"""``hepcal listen``: a DICOM node that receives studies, analyses them and sends the results on."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepcal.cli.common import err, handle_errors
from hepcal.errors import InputError


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def listen(
        aet: Annotated[str, typer.Option("--aet", help="hepcal's own AE title (1-16 characters).")] = "HEPCAL",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 11112,
        host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
        queue: Annotated[Path, typer.Option("--queue", help="Folder of the on-disk queue (incoming, working, done); a restart resumes from it.")] = Path("hepcal-queue"),
        send_to: Annotated[Optional[str], typer.Option("--send-to", help="Where the DICOM SEG and SR go by C-STORE: AET@host:port (omit to keep them in the queue's done folder only).")] = None,
        allow: Annotated[list[str], typer.Option("--allow", help="Calling AE title allowed to send (repeatable); others are refused.")] = [],
        allow_any: Annotated[bool, typer.Option("--allow-any", help="Accept any calling AE title (only on a closed network).")] = False,
        quiet: Annotated[float, typer.Option("--quiet", min=0.0, help="Seconds without a new instance after which a study counts as complete.")] = 30.0,
    ) -> None:
        """Receive CT studies (C-STORE, C-ECHO), analyse each once complete, send SEG and SR on."""
        from hepcal.pacs.analysis import analyse_folder
        from hepcal.pacs.node import NodeConfig, check_aet, parse_destination, serve

        if not allow and not allow_any:
            raise InputError("say who may send studies: --allow <calling AE title> (repeatable), or --allow-any on a closed network")
        config = NodeConfig(
            aet=check_aet(aet), port=port, queue=queue, host=host,
            destination=parse_destination(send_to) if send_to else None,
            allowed=frozenset(check_aet(a) for a in allow), allow_any=allow_any, quiet_seconds=quiet,
        )
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())

        def analyse(work: Path, results: Path) -> list[Path]:
            return analyse_folder(work, results).to_send

        def said(study: str, status: dict) -> None:
            err.print(f"{study}: {status['status']}" + (f" ({status.get('error')})" if status.get("error") else f", sent {len(status.get('sent', []))} object(s) in {status['seconds']} s"), markup=False, highlight=False)

        err.print(f"hepcal listening as {config.aet} on {host}:{port}; queue {queue}", markup=False, highlight=False)
        serve(config, analyse, stop=stop, on_status=said)
