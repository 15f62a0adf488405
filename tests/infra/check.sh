#!/usr/bin/env bash
# Offline checks of the deployment files: Caddy's own validator when Caddy is installed, promtool and
# systemd-analyze when present, and tests/infra/check_manifests.py (compose, Kubernetes manifests
# against the Kubernetes JSON schemas, Grafana dashboard, Prometheus rules, systemd unit, n8n workflow)
# in a venv keyed by tests/infra/requirements.txt (the schemas come from the kubernetes-validate package).
set -euo pipefail
cd "$(dirname "$0")/../.."
if command -v caddy >/dev/null; then
    caddy validate --config Caddyfile --adapter caddyfile >/dev/null 2>&1 && echo "ok: Caddyfile (caddy validate)" || { echo "FAIL: Caddyfile"; caddy validate --config Caddyfile --adapter caddyfile; exit 1; }
else
    echo "skip: caddy not installed (apt-get install caddy to validate the Caddyfile)"
fi
if command -v promtool >/dev/null; then
    promtool check rules infra/prometheus/alerts.yml >/dev/null 2>&1 && echo "ok: infra/prometheus/alerts.yml (promtool check rules)" || { echo "FAIL: alerts.yml"; promtool check rules infra/prometheus/alerts.yml; exit 1; }
else
    echo "skip: promtool not installed (apt-get install prometheus to check the alert rules with it)"
fi
if command -v systemd-analyze >/dev/null; then
    # The binary is not installed on a build machine: verify a copy whose ExecStart runs /bin/true.
    unit_dir=$(mktemp -d)
    trap 'rm -rf "$unit_dir"' EXIT
    sed 's#^ExecStart=/usr/local/bin/calsync #ExecStart=/bin/true #' infra/systemd/calsync.service > "$unit_dir/calsync.service"
    out=$(systemd-analyze verify "$unit_dir/calsync.service" 2>&1) || true
    if [ -n "$out" ]; then echo "FAIL: infra/systemd/calsync.service (systemd-analyze verify)"; echo "$out"; exit 1; fi
    echo "ok: infra/systemd/calsync.service (systemd-analyze verify)"
else
    echo "skip: systemd-analyze not installed (structural checks of the unit only)"
fi
VENV="${INFRA_VENV:-/var/tmp/calsync-infra-venv}"
REQ=tests/infra/requirements.txt
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$want" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$REQ"
    echo "$want" > "$VENV/.requirements"
fi
"$VENV/bin/python" tests/infra/check_manifests.py
