"""Offline checks of the deployment files.

- infra/docker-compose.yml, infra/k8s and the n8n workflow: structural checks (kinds, selectors matching labels,
  probes on real routes, ports, referenced files, the k8s token volume filled before start);
- Caddyfile and compose: the default admin ranges stay out of Docker's bridge pools;
- infra/k8s/*.yaml (kustomization.yaml aside): validated against the official Kubernetes JSON schemas, strict
  (unknown fields rejected), for every Kubernetes version bundled by the kubernetes-validate package;
- infra/grafana/calsync-dashboard.json: importable (uid, schemaVersion, ${DS_PROMETHEUS} input) and charting only
  the metrics calsync exposes (METRICS below), with their own labels;
- infra/prometheus/alerts.yml: groups/rules, on the same metrics;
- infra/systemd/calsync.service and calsync.env.example: sections, ExecStart against src/cli.rs, hardening, and
  environment names that calsync reads.

Run by tests/infra/check.sh in a venv keyed by tests/infra/requirements.txt."""
import ipaddress
import json
import pathlib
import re
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
dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
for want, what in (("cargo chef cook", "dependency layer cached with cargo-chef"),
                   ("USER calsync", "runs as non-root"),
                   ('HEALTHCHECK', "healthcheck"), ('"calsync", "healthcheck"', "healthcheck is calsync healthcheck"),
                   ("SQLX_OFFLINE=true", "builds without a database")):
    need(want in dockerfile, f"Dockerfile: {what}")

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
# The user token must exist at start (else calsync exits 2) and be writable (it is rewritten on refresh):
# when it lives in an emptyDir, an initContainer must put it there first.
pod = dep["spec"]["template"]["spec"]
env = {e["name"]: e.get("value") for e in c.get("env", [])}
token_path = env.get("GOOGLE_CALENDAR_TOKEN_PATH")
if token_path:
    token_dir = token_path.rsplit("/", 1)[0]
    token_mount = next((m for m in c["volumeMounts"] if m["mountPath"] == token_dir), None)
    need(token_mount is not None and not token_mount.get("readOnly"), "k8s: the token's directory is a writable mount")
    token_vol = next((v for v in pod["volumes"] if token_mount and v["name"] == token_mount["name"]), {})
    if "emptyDir" in token_vol:
        need(any(token_path in " ".join(i.get("command", []) + i.get("args", []))
                 and any(m["name"] == token_vol["name"] and not m.get("readOnly") for m in i.get("volumeMounts", []))
                 for i in pod.get("initContainers", [])),
             "k8s: an initContainer copies the token into its emptyDir (else the pod exits 2 at start)")

# Caddy's private routes: behind Docker's userland proxy a client can appear as a bridge gateway, so no
# default may cover Docker's default address pools (172.17.0.0/16 .. 172.31.0.0/16).
docker_pools = ipaddress.ip_network("172.16.0.0/12")
caddy_default = re.search(r"remote_ip \{\$CALSYNC_ADMIN_CIDRS:([^}]*)\}", (ROOT / "Caddyfile").read_text())
compose_default = re.fullmatch(r"\$\{CALSYNC_ADMIN_CIDRS:-([^}]*)\}",
                               str(services.get("caddy", {}).get("environment", {}).get("CALSYNC_ADMIN_CIDRS", "")))
need(caddy_default is not None, "Caddyfile: remote_ip {$CALSYNC_ADMIN_CIDRS:<default>} on the private routes")
need(compose_default is not None, "compose: caddy gets CALSYNC_ADMIN_CIDRS with a default")
for where, found in (("Caddyfile", caddy_default), ("compose", compose_default)):
    for cidr in (found.group(1).split() if found else []):
        net = ipaddress.ip_network(cidr, strict=False)
        need(net.version != 4 or not net.overlaps(docker_pools),
             f"{where}: default admin range {cidr} overlaps Docker's bridge pools (proxied clients appear from them)")

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


# ---------------------------------------------------------------- Kubernetes JSON schemas (kubernetes-validate)
try:
    import importlib.resources

    import jsonschema
    from kubernetes_validate.version import __version__ as KV_VERSION
    from referencing import Registry, Resource
except ImportError as e:  # outside tests/infra/check.sh's venv
    sys.exit(f"FAIL: {e.name} missing: run tests/infra/check.sh (it installs tests/infra/requirements.txt)")

SCHEMA_ROOT = pathlib.Path(str(importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"))
schema_dirs = {}
for d in SCHEMA_ROOT.iterdir():
    m = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", d.name)
    if m:
        schema_dirs[(int(m[1]), int(m[2]))] = d
schema_dirs = dict(sorted(schema_dirs.items()))
need(schema_dirs, f"k8s schemas: kubernetes-validate {KV_VERSION} bundles no strict schemas")


def schema_file(doc):
    # apps/v1 -> apps-v1, networking.k8s.io/v1 -> networking-v1, v1 -> v1 (kubernetes-validate's naming).
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", str(doc.get("apiVersion", "")))
    return f"{str(doc.get('kind', '')).lower()}-{api}.json"


manifests = []  # (file name, document)
for path in sorted(k8s.glob("*.yaml")):
    if path.name == "kustomization.yaml":
        continue
    try:
        loaded = [d for d in yaml.safe_load_all(path.read_text()) if d]
    except yaml.YAMLError as e:
        need(False, f"k8s: {path.name} does not parse: {e}")
        continue
    manifests += [(path.name, d) for d in loaded]
need(manifests, "k8s: no manifests found")
schema_errors = {}  # message -> Kubernetes versions where it occurs
for (major, minor), sdir in schema_dirs.items():
    version = f"{major}.{minor}"
    defs = json.loads((sdir / "_definitions.json").read_text())
    base = Resource.from_contents(defs) @ Registry()
    for name, doc in manifests:
        what = f"{name} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        sfile = sdir / schema_file(doc)
        if not sfile.exists():
            msg = f"{what}: no schema for apiVersion {doc.get('apiVersion')} kind {doc.get('kind')}"
            schema_errors.setdefault(msg, []).append(version)
            continue
        schema = json.loads(sfile.read_text())
        validator = jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ base)
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            where = ".".join(map(str, err.absolute_path)) or "(top)"
            schema_errors.setdefault(f"{what}: {where}: {err.message}", []).append(version)
for msg, versions in schema_errors.items():
    span = versions[0] if len(versions) == 1 else f"{versions[0]}..{versions[-1]} ({len(versions)} versions)"
    need(False, f"k8s schema {span}: {msg}")
k8s_versions = f"{min(schema_dirs)[0]}.{min(schema_dirs)[1]}..{max(schema_dirs)[0]}.{max(schema_dirs)[1]}" if schema_dirs else "none"

# ---------------------------------------------------------------- metrics calsync exposes
# name: (type, labels, {label: allowed values})
METRICS = {
    "calsync_sync_runs_total": ("counter", {"account", "calendar", "casquette", "trigger", "outcome"},
                                {"trigger": {"push", "poll", "api", "startup", "renewal"}, "outcome": {"ok", "error"}}),
    "calsync_sync_run_seconds": ("histogram", {"trigger"}, {"trigger": {"push", "poll", "api", "startup", "renewal"}}),
    "calsync_push_to_db_seconds": ("histogram", set(), {}),
    "calsync_webhook_notifications_total": ("counter", {"verdict"}, {"verdict": {
        "accepted", "unknown_channel", "bad_token", "mismatch", "malformed", "sync"}}),
    "calsync_google_requests_total": ("counter", {"account", "method", "status"}, {}),
    "calsync_google_request_seconds": ("histogram", {"method"}, {}),
    "calsync_channel_expiry_seconds": ("gauge", {"account", "calendar", "casquette"}, {}),
    "calsync_channels_live": ("gauge", set(), {}),
    "calsync_notifications_total": ("counter", {"kind", "verdict"}, {
        "kind": {"event_added", "event_modified", "alert"}, "verdict": {"sent", "failed", "deduplicated", "disabled"}}),
    "calsync_outbox_depth": ("gauge", set(), {}),
    "calsync_conflicts_open": ("gauge", set(), {}),
    "calsync_outbox_writes_total": ("counter", {"op", "outcome"}, {}),
}
SERIES = {}  # exposed series name -> (family, labels, values)
for fam, (typ, labels, values) in METRICS.items():
    if typ == "histogram":
        SERIES[fam + "_bucket"] = (fam, labels | {"le"}, values)
        SERIES[fam + "_sum"] = (fam, labels, values)
        SERIES[fam + "_count"] = (fam, labels, values)
    else:
        SERIES[fam] = (fam, labels, values)
# Target labels Prometheus adds to every series.
TARGET_LABELS = {"job", "instance"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                "offset", "inf", "nan"}


def promql_check(expr, where):
    """Metric names, matcher labels and values, and by/without labels of one PromQL expression; the families used."""
    used = set()
    e = expr
    # Selectors: name{matchers}
    for m in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}", e):
        name, body = m.group(1), m.group(2)
        if name not in SERIES:
            continue
        _, labels, values = SERIES[name]
        for lm in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', body):
            label, op, value = lm.groups()
            need(label in labels | TARGET_LABELS, f"{where}: {name} has no label {label!r}")
            if op in ("=", "!=") and label in values and "$" not in value:
                need(value in values[label], f"{where}: {name}{{{label}={value!r}}} is not one of {sorted(values[label])}")
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', e)
    bare = re.sub(r"\{[^}]*\}", " ", bare)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    grouping = []
    for g in re.finditer(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", bare):
        grouping += [x.strip() for x in g.group(2).split(",") if x.strip()]
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    bare = re.sub(r"\$\{?\w+\}?", " ", bare)
    bare = re.sub(r"\b\d+(\.\d+)?([eE][-+]?\d+)?[smhdwy]?\b", " ", bare)
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", bare):
        tok = m.group()
        if bare[m.end():].lstrip().startswith("(") or tok.lower() in PROMQL_WORDS:
            continue  # a function or an aggregation
        if tok in SERIES:
            used.add(SERIES[tok][0])
        elif tok in METRICS:
            need(False, f"{where}: {tok} is a histogram: use {tok}_bucket, _sum or _count")
        else:
            need(False, f"{where}: {tok!r} is not a metric calsync exposes")
    need(used, f"{where}: no calsync metric in {expr!r}")
    known = set().union(*(SERIES[s][1] for s in SERIES if SERIES[s][0] in used))
    for label in grouping if used else []:
        need(label in known | TARGET_LABELS, f"{where}: grouping label {label!r} is not a label of {sorted(used)}")
    return used


# ---------------------------------------------------------------- Grafana dashboard
dash_path = ROOT / "infra/grafana/calsync-dashboard.json"
try:
    dash = json.loads(dash_path.read_text())
except (OSError, ValueError) as e:
    dash = None
    need(False, f"grafana: {dash_path.name} does not parse: {e}")
charted = set()
n_panels = 0
if dash is not None:
    need(dash.get("uid") == "calsync", "grafana: uid calsync")
    need(dash.get("schemaVersion") == 39, "grafana: schemaVersion 39")
    need(dash.get("id") is None, "grafana: id null (importable)")
    need(any(i.get("name") == "DS_PROMETHEUS" and i.get("type") == "datasource" and i.get("pluginId") == "prometheus"
             for i in dash.get("__inputs", [])), "grafana: __inputs has the DS_PROMETHEUS datasource")
    ds_ok = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    ids = []
    for panel in dash.get("panels", []):
        for p in [panel] + panel.get("panels", []):
            title = p.get("title", "?")
            ids.append(p.get("id"))
            need({"h", "w", "x", "y"} <= set(p.get("gridPos", {})), f"grafana: panel {title!r} gridPos")
            if p.get("type") == "row":
                continue
            n_panels += 1
            need(p.get("datasource") == ds_ok, f"grafana: panel {title!r} uses ${{DS_PROMETHEUS}}")
            need(p.get("targets"), f"grafana: panel {title!r} has no query")
            for t in p.get("targets", []):
                need(t.get("datasource", ds_ok) == ds_ok, f"grafana: panel {title!r} query {t.get('refId')} datasource")
                need(t.get("expr"), f"grafana: panel {title!r} query {t.get('refId')} has no expr")
                if t.get("expr"):
                    charted |= promql_check(t["expr"], f"grafana: panel {title!r} {t.get('refId')}")
    need(len(ids) == len(set(ids)) and None not in ids, "grafana: panel ids unique")
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        q = var.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.fullmatch(r"\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*(\w+)\s*\)\s*", q)
        need(m and m.group(1) in SERIES and m.group(2) in SERIES[m.group(1)][1],
             f"grafana: variable {var.get('name')} query {q!r}")
        need(var.get("datasource") == ds_ok, f"grafana: variable {var.get('name')} uses ${{DS_PROMETHEUS}}")
    need(charted == set(METRICS), f"grafana: metrics never charted: {sorted(set(METRICS) - charted)}")
    titles = " | ".join(p.get("title", "") for p in dash.get("panels", [])).lower()
    for want in ("sync runs", "push → db", "webhook", "google calls", "429", "expiry", "outbox depth",
                 "open conflicts", "notifications by verdict"):
        need(want in titles, f"grafana: no panel about {want!r}")

# ---------------------------------------------------------------- Prometheus alerting rules
alerts_path = ROOT / "infra/prometheus/alerts.yml"
alert_names = []
try:
    rules_doc = yaml.safe_load(alerts_path.read_text())
except (OSError, yaml.YAMLError) as e:
    rules_doc = None
    need(False, f"prometheus: {alerts_path.name} does not parse: {e}")
if rules_doc is not None:
    groups = rules_doc.get("groups") if isinstance(rules_doc, dict) else None
    need(isinstance(groups, list) and groups, "prometheus: alerts.yml has a groups list")
    for g in groups or []:
        need(g.get("name"), "prometheus: every group has a name")
        need(isinstance(g.get("rules"), list) and g["rules"], f"prometheus: group {g.get('name')} has rules")
        for r in g.get("rules") or []:
            name = r.get("alert") or r.get("record")
            need(name and bool(r.get("alert")) != bool(r.get("record")), f"prometheus: rule {r} needs alert or record")
            need(isinstance(r.get("expr"), str) and r["expr"].strip(), f"prometheus: {name} has no expr")
            need(re.fullmatch(r"(\d+[smhdwy])+", str(r.get("for", "0s"))), f"prometheus: {name} for: {r.get('for')}")
            if r.get("alert"):
                alert_names.append(name)
                need(r.get("labels", {}).get("severity") in ("critical", "warning", "info"), f"prometheus: {name} severity")
                need(r.get("annotations", {}).get("summary"), f"prometheus: {name} summary")
            if isinstance(r.get("expr"), str):
                promql_check(r["expr"], f"prometheus: {name}")
    need(len(alert_names) == len(set(alert_names)), "prometheus: alert names unique")
    exprs = {r.get("alert"): (r.get("expr", ""), str(r.get("for", ""))) for g in groups or [] for r in g.get("rules") or []}
    for metric, for_, what in (("calsync_sync_runs_total", None, "no successful sync for 1h"),
                               ("calsync_channel_expiry_seconds", None, "a channel expiring in < 1h"),
                               ("calsync_outbox_depth", "15m", "outbox depth > 100 for 15m"),
                               ("calsync_google_requests_total", "10m", "Google 429 ratio > 20 % for 10m")):
        need(any(metric in e and (for_ is None or f == for_) for e, f in exprs.values()), f"prometheus: no alert for {what}")

# ---------------------------------------------------------------- systemd unit and its environment file
unit_path = ROOT / "infra/systemd/calsync.service"
unit = {}
section = None
for n, line in enumerate(unit_path.read_text().splitlines(), 1):
    line = line.strip()
    if not line or line.startswith(("#", ";")):
        continue
    if re.fullmatch(r"\[[A-Za-z]+\]", line):
        section = line[1:-1]
        unit.setdefault(section, [])
    elif "=" in line and section:
        k, v = line.split("=", 1)
        unit[section].append((k.strip(), v.strip()))
    else:
        need(False, f"systemd: line {n} outside a section or not KEY=VALUE: {line!r}")
for s in ("Unit", "Service", "Install"):
    need(s in unit, f"systemd: [{s}] section")


def unit_values(sec, key):
    return [v for k, v in unit.get(sec, []) if k == key]


def unit_one(sec, key):
    vals = unit_values(sec, key)
    return vals[-1] if vals else None


exec_start = unit_one("Service", "ExecStart")
need(exec_start, "systemd: ExecStart")
cli_src = (ROOT / "src/cli.rs").read_text()
if exec_start:
    argv = exec_start.split()
    need(argv[0].startswith("/") and argv[0].endswith("/calsync"), f"systemd: ExecStart runs an absolute calsync: {argv[0]}")
    need("serve" in argv and re.search(r"^\s*Serve\b", cli_src, re.M), "systemd: ExecStart runs `calsync serve`")
    for flag in (a[2:].split("=")[0] for a in argv if a.startswith("--")):
        need(re.search(rf"\b(pub\s+)?{flag.replace('-', '_')}\s*:", cli_src), f"systemd: ExecStart flag --{flag} is not in src/cli.rs")
for key, want in (("User", "calsync"), ("EnvironmentFile", "/etc/calsync/calsync.env"), ("Restart", "on-failure"),
                  ("TimeoutStopSec", "30"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                  ("PrivateTmp", "yes"), ("ProtectHome", "yes")):
    need(unit_one("Service", key) == want, f"systemd: {key}={want}")
need("/var/lib/calsync" in " ".join(unit_values("Service", "ReadWritePaths")), "systemd: ReadWritePaths=/var/lib/calsync")
after = " ".join(unit_values("Unit", "After")).split()
for target in ("network-online.target", "postgresql.service", "redis-server.service"):
    need(target in after, f"systemd: After={target}")
need(unit_one("Install", "WantedBy"), "systemd: [Install] WantedBy")

# Environment names: the ones calsync reads (src/config/env.rs's fixed names, CALSYNC__*, and a few more).
env_src = (ROOT / "src/config/env.rs").read_text()
fixed = set(re.findall(r'\(\s*"([A-Z][A-Z0-9_]*)",\s*&\[', env_src))
need(fixed, "systemd: could not read the variable names from src/config/env.rs")
readable = fixed | {"RUST_LOG", "CALENDAR_CONFIG_PATH"}


def read_by_calsync(name):
    return name in readable or name.startswith("CALSYNC__")


for v in unit_values("Service", "Environment"):
    name = v.strip('"').split("=", 1)[0]
    need(read_by_calsync(name), f"systemd: Environment={name} is not read by calsync")
env_example = (ROOT / "infra/systemd/calsync.env.example").read_text()
env_names = re.findall(r"^#?([A-Z][A-Z0-9_]*)=", env_example, re.M)
for name in env_names:
    need(read_by_calsync(name), f"systemd: calsync.env.example sets {name}, which calsync does not read")
for name in ("DATABASE_URL", "REDIS_URL", "WEBHOOK_PUBLIC_URL", "ADMIN_JWT_SECRET", "CHANNEL_TOKEN_SECRET"):
    need(re.search(rf"^{name}=", env_example, re.M), f"systemd: calsync.env.example sets {name}")
for name in re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / "infra/.env.example").read_text(), re.M):
    need(re.search(rf"\b{name}\b", env_example), f"systemd: calsync.env.example does not mention {name} (infra/.env.example)")

if errors:
    for e in errors:
        print("FAIL:", e)
    sys.exit(1)
print(f"ok: docker-compose ({len(services)} services), k8s ({len(docs)} manifests) and the n8n workflow pass structural checks")
print(f"ok: k8s ({len(manifests)} documents) valid against the strict Kubernetes JSON schemas v{k8s_versions} "
      f"(kubernetes-validate {KV_VERSION})")
print(f"ok: grafana dashboard ({n_panels} panels, {len(charted)} metrics), prometheus rules ({len(alert_names)} alerts), "
      f"systemd unit and env example")
