"""`/ipns/NAME/…` wherever a command takes a path: the one place such arguments become
`/ipfs/CID/…` before the command runs (`cat`, `get`, `ls`, `dag get|stat|export|resolve`,
`pin add` declare theirs with `set_defaults(ipns_paths=(…))`; `cli/main.py` calls
`expand_cli_paths`).

With a daemon running the daemon resolves (`/api/v0/name/resolve`: its routers, cache, gateways,
DNSLink); without one, the offline resolver does (cache, own records, delegated routers,
`Gateway.Fetch`, DNSLink). Either way every record is validated by `ipns.record.validate_record`.
"""

from __future__ import annotations

from typing import Any


def is_ipns_path(text: object) -> bool:
    return isinstance(text, str) and text.startswith(("/ipns/", "ipns://"))


def expand_cli_paths(args: Any) -> None:
    todo = []
    for attr in getattr(args, "ipns_paths", ()) or ():
        value = getattr(args, attr, None)
        if isinstance(value, list):
            todo += [v for v in value if is_ipns_path(v)]
        elif is_ipns_path(value):
            todo.append(value)
    if not todo:
        return
    if getattr(args, "output", "") is None and is_ipns_path(getattr(args, "path", None)):
        # `get /ipns/NAME/a/b` writes `b` (and `get /ipns/NAME` writes NAME), as Kubo does
        args.output = [seg for seg in args.path.split("/") if seg][-1]
    resolved = resolve_paths(todo, args)
    for attr in args.ipns_paths:
        value = getattr(args, attr, None)
        if isinstance(value, list):
            setattr(args, attr, [resolved.get(v, v) if isinstance(v, str) else v for v in value])
        elif isinstance(value, str):
            setattr(args, attr, resolved.get(value, value))


def resolve_paths(paths: list[str], args: Any = None) -> dict[str, str]:
    from ..cli.common import daemon_client

    client = daemon_client(args)
    if client is not None:
        with client:
            return {p: client.json("name/resolve", [p], {"recursive": True})["Path"] for p in paths}
    import trio

    from ..node import Node
    from .service import IpnsService

    async def run(svc: IpnsService) -> dict[str, str]:
        return {p: await svc.resolve(p) for p in paths}

    with Node.open() as node, IpnsService.offline(node) as svc:
        return trio.run(run, svc)
