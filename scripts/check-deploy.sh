#!/usr/bin/env bash
# Offline checks of the deployment assets in deploy/ (called from .ci/run):
#   1. Prometheus: `promtool check rules` and `promtool test rules` (a unit test per alert).
#   2. Grafana: the dashboard is JSON, and every PromQL expression in it parses
#      (promtool checks them as recording rules, Grafana's $variables filled in).
#   3. Kubernetes: `kubectl kustomize` (or `kustomize build`) of every overlay, each
#      validated against the Kubernetes OpenAPI schemas by kubernetes-validate --strict
#      (schemas ship inside the PyPI package: no cluster, no network).
#   4. Not a check: installs podman (when neither podman nor a docker engine answers) for the
#      container image test in tests/deploy_assets.rs, which `cargo test` runs after this
#      script and skips without an engine. CHECK_DEPLOY_NO_PODMAN=1 leaves it out.
#   5. systemd: `systemd-analyze security --offline=true` of both units must score 1.5 or
#      below (--threshold=15; the figure docs/operations.md gives is printed here).
# Missing tools are installed when possible (promtool, podman: Debian's packages;
# kubernetes-validate: pip). A check whose tool cannot be had is skipped with a message
# saying so; a check that runs and fails fails the script.
# That every metric name used here is one the daemon exports is checked by
# tests/deploy_assets.rs, against a running daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
skipped=()

say() { printf 'check-deploy: %s\n' "$*"; }

# apt_install PACKAGE: as root with apt-get, quietly; `apt-get update` only when needed.
apt_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$1" >"$work/apt.log" 2>&1 ||
        { apt-get update -qq >>"$work/apt.log" 2>&1 &&
          apt-get install -y -qq --no-install-recommends "$1" >>"$work/apt.log" 2>&1; } ||
        { tail -n 5 "$work/apt.log" >&2; return 1; }
}

# Debian's prometheus package carries promtool.
have_promtool() {
    command -v promtool >/dev/null 2>&1 && return 0
    say "installing promtool (Debian package prometheus)"
    apt_install prometheus || true
    command -v promtool >/dev/null 2>&1
}

# From PyPI; into a virtualenv of its own when the system Python refuses pip (PEP 668).
have_kubernetes_validate() {
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/baton-haloitsm/check-deploy-venv"
    [ -x "$venv/bin/kubernetes-validate" ] && PATH="$venv/bin:$PATH"
    command -v kubernetes-validate >/dev/null 2>&1 && return 0
    if command -v python3 >/dev/null 2>&1; then
        say "installing kubernetes-validate (pip)"
        python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate \
            >"$work/pip.log" 2>&1 ||
            { python3 -m venv "$venv" >>"$work/pip.log" 2>&1 &&
              "$venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate \
                  >>"$work/pip.log" 2>&1 && PATH="$venv/bin:$PATH"; } ||
            tail -n 3 "$work/pip.log" >&2 || true
        hash -r
    fi
    command -v kubernetes-validate >/dev/null 2>&1
}

kustomize_build() {
    if command -v kubectl >/dev/null 2>&1; then
        kubectl kustomize "$1"
    else
        kustomize build "$1"
    fi
}

# --- 1 and 2: Prometheus rules and the Grafana dashboard ---------------------------
if have_promtool; then
    say "$(promtool --version 2>&1 | head -n 1)"
    promtool check rules deploy/prometheus/baton-haloitsm.rules.yml
    (cd deploy/prometheus && promtool test rules baton-haloitsm.rules.test.yml)

    if command -v python3 >/dev/null 2>&1; then
        # Each panel query becomes a recording rule, so promtool parses it exactly as
        # Prometheus will. Grafana's variables get values of the right type.
        python3 - deploy/grafana/*.json >"$work/dashboard-rules.yml" <<'PY'
import json, sys
print("groups:")
for path in sys.argv[1:]:
    with open(path) as f:
        dash = json.load(f)  # fails the check on invalid JSON
    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    n = 0
    print(f"  - name: {json.dumps(path)}\n    rules:")
    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            expr = t.get("expr")
            if not expr:
                continue
            for var, val in (("$__rate_interval", "5m"), ("$__interval", "1m"),
                             ("$__range", "1h"), ("$job", ".*"), ("$instance", ".*")):
                expr = expr.replace(var, val)
            n += 1
            print(f"      - record: dashboard:panel{p.get('id')}:{t.get('refId', n)}")
            print(f"        expr: {json.dumps(expr)}")
    if n == 0:
        sys.exit(f"{path}: no PromQL expressions found")
PY
        say "dashboard queries:"
        promtool check rules "$work/dashboard-rules.yml"
    else
        skipped+=("dashboard PromQL (python3 not found)")
    fi
else
    skipped+=("promtool check/test rules and dashboard PromQL (promtool not found and could not be installed)")
fi

# --- 3: Kubernetes manifests --------------------------------------------------------
if ! command -v kubectl >/dev/null 2>&1 && ! command -v kustomize >/dev/null 2>&1; then
    skipped+=("kustomize build of the overlays (neither kubectl nor kustomize found)")
elif ! have_kubernetes_validate; then
    skipped+=("Kubernetes schema check (kubernetes-validate not found and could not be installed)")
else
    # secret.env is never in git: build a copy with the examples in its place.
    cp -r deploy/k8s "$work/k8s"
    overlays=0
    for dir in "$work"/k8s/overlays/*/; do
        name=$(basename "$dir")
        if [ -f "$dir/secret.env.example" ] && [ ! -f "$dir/secret.env" ]; then
            cp "$dir/secret.env.example" "$dir/secret.env"
        fi
        kustomize_build "$dir" >"$work/$name.yaml"
        kinds=$(grep -c '^kind: StatefulSet$' "$work/$name.yaml" || true)
        if [ "$kinds" != 1 ]; then
            say "overlay $name: expected one StatefulSet, found $kinds" >&2
            exit 1
        fi
        # The oldest Kubernetes release still common in managed clusters, and the newest
        # the package knows.
        for version in 1.28.0 ""; do
            kubernetes-validate --strict --quiet ${version:+-k "$version"} "$work/$name.yaml"
        done
        say "overlay $name: built and valid ($(grep -c '^kind:' "$work/$name.yaml") objects)"
        overlays=$((overlays + 1))
    done
    if [ "$overlays" -lt 2 ]; then
        say "expected at least two tenant overlays under deploy/k8s/overlays, found $overlays" >&2
        exit 1
    fi
fi

# --- 4: a container engine for the image test ----------------------------------------
engine_answers() {
    { command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; } ||
        { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
}
if [ "${CHECK_DEPLOY_NO_PODMAN:-0}" != 1 ] && ! engine_answers; then
    say "installing podman (Debian package) for the container image test"
    apt_install podman || true
    engine_answers ||
        skipped+=("podman for the container image test (could not be installed; that test will skip)")
fi

# --- 5: systemd hardening -------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$work/units"
    cp systemd/baton-haloitsm.service "$work/units/"
    # A template unit is analysed as one of its instances.
    cp systemd/baton-haloitsm@.service "$work/units/baton-haloitsm@acme.service"
    for unit in "$work"/units/*.service; do
        score=$(systemd-analyze security --offline=true --threshold=15 "$unit" 2>&1 |
            grep 'Overall exposure level') ||
            { say "systemd: $(basename "$unit") is above 1.5 or does not parse" >&2;
              systemd-analyze security --offline=true "$unit" >&2 || true; exit 1; }
        say "systemd: ${score#→ }"
    done
else
    skipped+=("systemd-analyze security (systemd-analyze not found)")
fi

if [ "${#skipped[@]}" -gt 0 ]; then
    for s in "${skipped[@]}"; do say "SKIPPED: $s"; done
fi
say "done"
