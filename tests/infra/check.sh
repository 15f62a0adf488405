#!/usr/bin/env bash
# Offline checks of the deployment files: Caddy's own validator when Caddy is installed,
# structural checks of the compose file and the Kubernetes manifests otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
if command -v caddy >/dev/null; then
    caddy validate --config Caddyfile --adapter caddyfile >/dev/null 2>&1 && echo "ok: Caddyfile (caddy validate)" || { echo "FAIL: Caddyfile"; caddy validate --config Caddyfile --adapter caddyfile; exit 1; }
else
    echo "skip: caddy not installed (apt-get install caddy to validate the Caddyfile)"
fi
python3 -c "import yaml" 2>/dev/null || python3 -m pip install -q pyyaml
python3 tests/infra/check_manifests.py
