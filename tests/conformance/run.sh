#!/usr/bin/env bash
# Google's official Python client (built from the discovery document) against `calsync emulator`.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${CONFORMANCE_VENV:-/var/tmp/calsync-conformance-venv}"
BIN="${CALSYNC_BIN:-${CARGO_TARGET_DIR:-/var/tmp/calsync-target}/debug/calsync}"
REQ=tests/conformance/requirements.txt
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$want" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$REQ"
    echo "$want" > "$VENV/.requirements"
fi
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CREDS=$(mktemp -d)
"$BIN" emulator --bind "127.0.0.1:$PORT" --write-credentials "$CREDS" >/dev/null 2>&1 &
EMU_PID=$!
trap 'kill $EMU_PID 2>/dev/null || true; rm -rf "$CREDS"' EXIT
for _ in $(seq 1 100); do
    [ -f "$CREDS/token.json" ] && "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/emulator/stats')" 2>/dev/null && break
    sleep 0.1
done
EMULATOR_URL="http://127.0.0.1:$PORT" CREDENTIALS_DIR="$CREDS" "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/conformance
