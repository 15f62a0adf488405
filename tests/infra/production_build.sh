#!/usr/bin/env bash
# The production build (what infra/Dockerfile builds: -p calsync --no-default-features) carries no
# emulator code, no development credentials and no control API. CI checks a debug build of the same
# features (the release build takes minutes more; PRODUCTION_PROFILE=release checks that one).
set -euo pipefail
cd "$(dirname "$0")/../.."
profile="${PRODUCTION_PROFILE:-dev}"
dir=debug; [ "$profile" = release ] && dir=release
cargo build -q -p calsync --no-default-features --bin calsync --profile "$profile"
bin="${CARGO_TARGET_DIR:-target}/$dir/calsync"
grep -q -- '--no-default-features' infra/Dockerfile || { echo "FAIL: infra/Dockerfile does not build --no-default-features"; exit 1; }
found=$(strings "$bin" | grep -E 'calsync-dev-secret|/emulator/' | head -3 || true)
if [ -n "$found" ]; then echo "FAIL: $bin holds emulator strings:"; echo "$found"; exit 1; fi
for sub in emulator demo bench; do
    if "$bin" "$sub" --help >/dev/null 2>&1; then echo "FAIL: production calsync has '$sub'"; exit 1; fi
done
echo "ok: production build ($profile) has no emulator, development credentials or control API"
