"""The web UI the daemon serves at `/webui` on the RPC API address (as Kubo does).

Server-rendered pages (Jinja2, autoescaping on) over the same services the CLI and the RPC API
use: `versioning.service.Versioning` (log, diff, verify), `unixfs.exporter` (listing, streamed
reading), `store.pins`/`store.gc`, `node.online` (id, peers). Templates only render; everything a
page shows from a dataset is untrusted input and is escaped.

One module per page family: `datasets` (list, overview, create branch), `history` (log with a
merge graph, commit, signature badges), `tree` (browser at a ref or CID, downloads as file, CAR
and tar), `preview` (CSV/TSV, JSON, text, Markdown, images, Parquet), `diffs` (files and rows),
`node` (peer, peers, stats, pins, GC, bandwidth), `inspect` (CID inspector, DAG explorer).
`app` holds routing, CSRF and the response types; `render` the template environment.

Security: pages are read-only GETs; every state change (pin, unpin, GC, create branch) is a POST
that must carry the page's CSRF token and come from the same origin (Origin, else Referer, must
name the Host the request was sent to); the RPC server's origin/host checks run first. Every
response carries a strict Content-Security-Policy (scripts and styles only from /webui/static).
"""
