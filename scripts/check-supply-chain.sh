#!/usr/bin/env bash
# Supply chain (issue 18): licences, banned/duplicate crates and sources, by deny.toml.
# cargo-deny is installed from crates.io into target/tools when it is not on PATH (it works
# offline once installed). `--install-only` installs and exits, so .ci/run can build it while
# clippy runs.
set -euo pipefail
cd "$(dirname "$0")/.."
DENY_VERSION=0.20.2
tools="$PWD/target/tools"
deny=$(command -v cargo-deny || true)
if [ -z "$deny" ] || ! "$deny" --version | grep -q "$DENY_VERSION"; then
    deny="$tools/bin/cargo-deny"
    if [ ! -x "$deny" ]; then
        echo "check-supply-chain: installing cargo-deny $DENY_VERSION into $tools"
        # No default features: the git/HTTP fetching of advisories is not needed for these checks.
        cargo install --quiet --locked --no-default-features --version "$DENY_VERSION" \
            --root "$tools" cargo-deny
    fi
fi
[ "${1:-}" = "--install-only" ] && exit 0
"$deny" --version
"$deny" check licenses bans sources
