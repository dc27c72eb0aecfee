#!/usr/bin/env bash
# Run the interop suite (or any command) inside a fresh loopback-only network namespace.
#   interop/run.sh                    -> pytest interop (extra args are passed to pytest)
#   interop/run.sh -k kubo -x         -> pytest interop -k kubo -x
#   interop/run.sh interop/test_harness.py::test_x -q   -> pytest <those paths/args>
#   interop/run.sh -- CMD ARGS...     -> CMD ARGS... (e.g. a benchmark) in the namespace
# Needs root, or unprivileged user namespaces (`unshare -rn`). Without either, it falls back to
# running directly (conftest.py then prints the fallback warning; configs stay confined).
# PYTHON picks the interpreter (default: $VIRTUAL_ENV/bin/python, else python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -n "${VIRTUAL_ENV:-}" ]; then py="$VIRTUAL_ENV/bin/python"; else py="$(command -v python3)"; fi
fi
if [ "${1:-}" = "--" ]; then shift; cmd=("$@")
elif [ -n "${1:-}" ] && [ -e "${1%%::*}" ]; then cmd=("$py" -m pytest "$@")   # explicit test paths
else cmd=("$py" -m pytest interop "$@"); fi

if [ "${JZFS_INTEROP_NETNS:-}" = "loopback-only" ]; then exec "${cmd[@]}"; fi
# The inner shell brings lo up, checks that lo is the only interface, then execs the command.
inner='ip link set lo up && [ "$(ls /proc/self/net/dev >/dev/null; awk -F: "NR>2{gsub(/ /,\"\",\$1); print \$1}" /proc/self/net/dev)" = "lo" ] && export JZFS_INTEROP_NETNS=loopback-only && exec "$@"'
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  exec unshare -n -- sh -c "$inner" sh "${cmd[@]}"
elif unshare -rn true 2>/dev/null; then
  exec unshare -rn -- sh -c "$inner" sh "${cmd[@]}"
fi
echo "interop/run.sh: WARNING: cannot create a network namespace here; running without one" >&2
exec "${cmd[@]}"
