#!/usr/bin/env bash
# Runs the peer (crates/calsync-bench/peer/peer.py) in its own venv, rebuilt whenever requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV="${PEER_VENV:-/var/tmp/calsync-peer-venv}"
REQ=crates/calsync-bench/peer/requirements.txt
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$want" ]; then
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q -r "$REQ" >&2
    echo "$want" > "$VENV/.requirements"
fi
exec "$VENV/bin/python" crates/calsync-bench/peer/peer.py "$@"
