"""Structural checks of infra/docker-compose.yml, infra/k8s and the n8n workflow: what a schema validator would catch
that matters here (kinds, selectors matching labels, probes on real routes, ports, referenced files)."""
import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
errors = []


def need(cond, msg):
    if not cond:
        errors.append(msg)


compose = yaml.safe_load((ROOT / "infra/docker-compose.yml").read_text())
services = compose.get("services", {})
for name in ("postgres", "redis", "calsync", "caddy"):
    need(name in services, f"compose: service {name} missing")
cal = services.get("calsync", {})
for dep, cond in cal.get("depends_on", {}).items():
    need(cond.get("condition") == "service_healthy", f"compose: calsync waits for {dep} to be healthy")
    need("healthcheck" in services.get(dep, {}), f"compose: {dep} needs a healthcheck")
need(cal.get("healthcheck", {}).get("test") == ["CMD", "calsync", "healthcheck"], "compose: calsync healthcheck")
for key in ("DATABASE_URL", "REDIS_URL", "WEBHOOK_PUBLIC_URL", "ADMIN_JWT_SECRET", "CHANNEL_TOKEN_SECRET"):
    need(key in cal.get("environment", {}), f"compose: calsync env {key}")
need((ROOT / cal.get("build", {}).get("dockerfile", "missing")).exists(), "compose: Dockerfile path")

k8s = ROOT / "infra/k8s"
kust = yaml.safe_load((k8s / "kustomization.yaml").read_text())
docs = []
for res in kust["resources"]:
    path = k8s / res
    need(path.exists(), f"k8s: {res} listed but missing")
    docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
for gen in kust.get("configMapGenerator", []):
    for f in gen["files"]:
        need((k8s / f.split("=", 1)[-1]).exists(), f"k8s: configMap source {f}")
kinds = {d["kind"]: d for d in docs}
for kind, api in (("Deployment", "apps/v1"), ("Service", "v1"), ("PodDisruptionBudget", "policy/v1")):
    need(kind in kinds and kinds[kind]["apiVersion"] == api, f"k8s: {kind} ({api})")
dep = kinds.get("Deployment", {})
labels = dep["spec"]["template"]["metadata"]["labels"]
need(dep["spec"]["selector"]["matchLabels"].items() <= labels.items(), "k8s: deployment selector matches pod labels")
need(dep["spec"]["replicas"] >= 2, "k8s: several replicas")
need(kinds["Service"]["spec"]["selector"].items() <= labels.items(), "k8s: service selects the pods")
need(kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items(), "k8s: pdb selects the pods")
c = dep["spec"]["template"]["spec"]["containers"][0]
need(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "k8s: readiness on /readyz")
need(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "k8s: liveness on /healthz")
need(dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30, "k8s: grace period covers the drain")
mounts = {m["name"] for m in c["volumeMounts"]}
vols = {v["name"] for v in dep["spec"]["template"]["spec"]["volumes"]}
need(mounts <= vols, "k8s: every mount has a volume")

flow = json.loads((ROOT / "config/n8n/workflows/calendar-sync.json").read_text())
names = {n["name"] for n in flow["nodes"]}
for src, out in flow["connections"].items():
    need(src in names, f"n8n: connection from unknown node {src}")
    for branch in out["main"]:
        for link in branch:
            need(link["node"] in names, f"n8n: connection to unknown node {link['node']}")
cron = [n for n in flow["nodes"] if n["type"] == "n8n-nodes-base.scheduleTrigger"]
need(cron and cron[0]["parameters"]["rule"]["interval"][0]["expression"] == "0 6 * * *", "n8n: the 06:00 cron")
need(any("/api/v1/calendar/sync" in n["parameters"].get("url", "") for n in flow["nodes"]), "n8n: calls the sync endpoint")

if errors:
    for e in errors:
        print("FAIL:", e)
    sys.exit(1)
print(f"ok: docker-compose ({len(services)} services), k8s ({len(docs)} manifests) and the n8n workflow pass structural checks")
