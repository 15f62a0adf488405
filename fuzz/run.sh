#!/usr/bin/env bash
# Runs every fuzz target (or the ones named after the time) for a bounded time.
#   fuzz/run.sh [SECONDS] [TARGET...]      SECONDS per target, default 60
# The working corpus lives outside the repo ($FUZZ_WORK_DIR, default
# /var/tmp/calsync-fuzz-corpus/<target>); the seeds in fuzz/corpus/<target>/
# are read, never written. Crashes land in fuzz/artifacts/<target>/ (ignored by git).
set -euo pipefail

cd "$(dirname "$0")"
secs="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(push_headers event_mapping event_mapping_structured config_loader recurrence)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/calsync-fuzz-target}"
export SQLX_OFFLINE=true   # the sqlx::query! macros read ../.sqlx
work="${FUZZ_WORK_DIR:-/var/tmp/calsync-fuzz-corpus}"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz

status=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    dirs=("$work/$t")                       # libFuzzer writes new inputs to the first dir only
    [ -d "corpus/$t" ] && dirs+=("corpus/$t")
    opts=(-max_total_time="$secs" -print_final_stats=1)
    [ -f "dict/$t.dict" ] && opts+=(-dict="dict/$t.dict")
    echo "== $t: ${secs}s, working corpus $work/$t"
    if ! cargo +nightly fuzz run --target-dir "$CARGO_TARGET_DIR" "$t" "${dirs[@]}" -- "${opts[@]}"; then
        echo "!! $t found a crash: see fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit $status
