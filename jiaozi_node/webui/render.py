"""The template environment: Jinja2 with autoescaping always on, templates shipped in the package.

Filters: `size` (1.5 MiB), `when` (UTC time of a Unix timestamp), `short` (a CID's head…tail).
`href(*segments, **query)` builds every link the pages make: segments are percent-encoded and
the result always starts with `/webui/`, so no user string can become a `javascript:` URL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined

PREFIX = "/webui"


def href(*segments: Any, **query: Any) -> str:
    path = "/".join(quote(str(s), safe="") for s in segments if s is not None and s != "")
    url = f"{PREFIX}/{path}" if path else f"{PREFIX}/"
    q = {k.rstrip("_"): v for k, v in query.items() if v is not None and v != ""}
    return f"{url}?{urlencode(q)}" if q else url


def human_size(n: int | None) -> str:
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def when(ts: int | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def short(value: Any, head: int = 10, tail: int = 6) -> str:
    s = str(value)
    return s if len(s) <= head + tail + 1 else f"{s[:head]}…{s[-tail:]}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("jiaozi_node.webui", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(size=human_size, when=when, short=short)
    env.globals.update(href=href)
    return env


def render(template: str, **context: Any) -> str:
    context.setdefault("nav", "")
    return environment().get_template(template).render(**context)
