"""`jzfs webui [--open]`: print (and open) the web UI's URL — `/webui` on the daemon's RPC API
address (as Kubo serves its web UI), from `$JZFS_PATH/api` when a daemon runs, else from config
`Addresses.API` (with a note that `jzfs daemon` must be running)."""

from __future__ import annotations

import argparse
import sys


def url_for(repo_path: str | None = None) -> tuple[str, bool]:
    """(web UI URL, whether a daemon answers there)."""
    from ..api.client import ApiClient, api_url
    from ..config import DEFAULT_API_ADDR
    from ..errors import NotFound
    from ..repo import Repo, default_path

    path = default_path() if repo_path is None else repo_path
    try:
        client = ApiClient.for_path(path)
    except NotFound:
        repo = Repo.open(path)
        addr = repo.settings.addresses.api or DEFAULT_API_ADDR
        return f"{api_url(addr)}/webui/", False
    with client:
        return f"{client.base_url}/webui/", True


def cmd_webui(args: argparse.Namespace) -> int:
    url, running = url_for()
    print(url)
    if not running:
        print("no daemon is running: start it with `jzfs daemon`", file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("webui", help="print the web UI's URL (served by `jzfs daemon` at /webui)")
    p.add_argument("--open", action="store_true", help="open it in the default browser")
    p.set_defaults(func=cmd_webui)
