"""``serve``: the web app and REST API for a team, read-only over one store."""

from __future__ import annotations

from typing import Annotated

import typer

from chokepoints.cli.common import HomeOption, app, errors
from chokepoints.errors import ChokepointsError
from chokepoints.web.settings import TIMEOUT_SECONDS, WORKERS, ServerSettings, is_loopback


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; another than loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8000,
    home: HomeOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="CHOKEPOINTS_TOKEN",
            show_envvar=True,
            help="Token every request must carry (Authorization: Bearer TOKEN, or a link "
            "with ?token=TOKEN once).",
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Serve a non-loopback interface without a token."),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds a question may run before it is stopped.")
    ] = TIMEOUT_SECONDS,
    workers: Annotated[
        int, typer.Option(min=1, max=16, help="Questions answered side by side.")
    ] = WORKERS,
    screens: Annotated[
        bool,
        typer.Option(
            help="Prepare the latest year's world screens at start and answer pages by "
            "slicing them (fast pages, at about 140 bytes of memory per flow of that year).",
        ),
    ] = True,
) -> None:
    """Serve the web app and the REST API (/api/v1) over the store, read-only."""
    import uvicorn

    from chokepoints.web.app import create_app

    if token is not None and not token.strip():
        raise ChokepointsError("--token is empty; give a long random string or leave it out")
    if not is_loopback(host) and token is None:
        if not no_auth:
            raise ChokepointsError(
                f"--host {host} lets other machines in; give --token (or set "
                "CHOKEPOINTS_TOKEN), or pass --no-auth to serve without one"
            )
        errors.print(
            f"warning: serving {host} without a token; anyone who reaches this port can "
            "read the store's answers",
            markup=False,
        )
    settings = ServerSettings(
        home=home,
        host=host,
        port=port,
        token=token,
        timeout_seconds=timeout,
        workers=workers,
        screens=screens,
    )
    application = create_app(settings)
    uvicorn.run(application, host=host, port=port, log_level="warning")
