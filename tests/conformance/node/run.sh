#!/usr/bin/env bash
# Google's official Node.js client (googleapis, pinned in package-lock.json) against `calsync emulator`.
# `npm ci` installs into a cache outside the clone, keyed by the lock file's hash.
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=tests/conformance/node
BIN="${CALSYNC_BIN:-${CARGO_TARGET_DIR:-/var/tmp/calsync-target}/debug/calsync}"
want=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)
CACHE="${CONFORMANCE_NODE_CACHE:-/var/tmp/calsync-conformance-node}/$want"
if [ ! -f "$CACHE/.installed" ]; then
    mkdir -p "$CACHE"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$CACHE/"
    (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$CACHE/.installed"
fi
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
CREDS=$(mktemp -d)
"$BIN" emulator --bind "127.0.0.1:$PORT" --write-credentials "$CREDS" >/dev/null 2>&1 &
EMU_PID=$!
trap 'kill $EMU_PID 2>/dev/null || true; rm -rf "$CREDS"' EXIT
for _ in $(seq 1 100); do
    [ -f "$CREDS/token.json" ] && curl -sf "http://127.0.0.1:$PORT/emulator/stats" >/dev/null && break
    sleep 0.1
done
EMULATOR_URL="http://127.0.0.1:$PORT" CREDENTIALS_DIR="$CREDS" NODE_PATH="$CACHE/node_modules" \
    node --test --test-concurrency=1 "$HERE/google_client.test.js"
