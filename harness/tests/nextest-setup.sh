#!/usr/bin/env bash
# nextest setup script (see .config/nextest.toml): one cluster for every test process.
# Starts a kind cluster with `podcheck cluster up`, unless PODCHECK_KUBECONFIG already names
# one, and exports it (and that the offline fixture images are in its nodes) to the tests
# through the file nextest gives in $NEXTEST_ENV. nextest has no teardown scripts: the
# cluster is removed when nextest (this script's parent) exits.
set -euo pipefail

if [[ -n "${PODCHECK_KUBECONFIG:-}" ]]; then
    echo "PODCHECK_KUBECONFIG=${PODCHECK_KUBECONFIG}" >>"${NEXTEST_ENV}"
    exit 0
fi

root="$(cd "$(dirname "$0")/../.." && pwd)"
kubeconfig="${root}/target/podcheck/nextest.kubeconfig"
mkdir -p "$(dirname "${kubeconfig}")"
cargo run --quiet --manifest-path "${root}/Cargo.toml" -p podcheck --bin podcheck -- \
    cluster up --kubeconfig-out "${kubeconfig}" --remove-after-pid "${PPID}" >&2
{
    echo "PODCHECK_KUBECONFIG=${kubeconfig}"
    # `cluster up` loaded podcheck's offline images into the node: the tests use them and
    # need not load them again.
    echo "PODCHECK_IMAGES=offline"
    echo "PODCHECK_IMAGES_LOADED=1"
    # One run id for all test processes: their namespaces share the run label.
    echo "PODCHECK_RUN_ID=$(date +%s | tail -c 7)"
} >>"${NEXTEST_ENV}"
