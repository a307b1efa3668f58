#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Integration tests against a real local Slurm cluster (contrib/cluster/zenith-cluster): starts
# its own cluster (own directory, ports and munge), runs every t-*.sh (or those named), prints
# the daemons' logs when one fails, and always tears the cluster down, checking that nothing
# is left running. Exit 77 (skip) only when Slurm is not installed, and never under CI.
set -u
src=${ZENITH_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export ZENITH_BUILDDIR=${ZENITH_BUILDDIR:-$src/build}
cluster=$src/contrib/cluster/zenith-cluster
here=$src/tests/integration

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "integration: Slurm or munge is not installed, and CI must not skip" >&2
        exit 1
    fi
    echo "integration: skipped: Slurm is not installed (contrib/install-deps.sh installs it)"
    exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "integration: the local cluster needs root (it starts munged, slurmctld and slurmd)" >&2
    exit 1
fi
for f in "$ZENITH_BUILDDIR/tests/integration/pmix_hello" "$ZENITH_BUILDDIR/tools/zenith-plan"; do
    [ -x "$f" ] || { echo "integration: $f is not built; run make first" >&2; exit 1; }
done

export ZENITH_SRCDIR="$src"
export ZENITH_CLUSTER_DIR=${ZENITH_TEST_CLUSTER_DIR:-/var/tmp/zenith-test-cluster}
export ZENITH_CLUSTER_PORT=${ZENITH_TEST_CLUSTER_PORT:-17817}
export ZENITH_CLUSTER_NAME=zenith-test
export ZENITH_PLAN="$ZENITH_BUILDDIR/tools/zenith-plan"
# zn1 gets a real-looking 8-GPU server's topology; the other nodes this machine's.
export ZENITH_CLUSTER_XML="zn1=$src/tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"
eval "$("$cluster" env)"
export SLURM_CONF

passed=0
failed=0
logs=$(mktemp -d)
finish() {
    [ "$failed" -gt 0 ] && "$cluster" logs
    local t0=$SECONDS
    if "$cluster" down >/dev/null; then
        # Nothing of this cluster may survive: daemons, steps, tasks.
        left=$(ps -eo stat=,pid=,args= | awk -v d="$ZENITH_CLUSTER_DIR" '$1 !~ /^Z/ && index($0, d)' | grep -v awk)
        if [ -n "$left" ]; then
            echo "FAIL: teardown left processes behind:"
            echo "$left"
            failed=$((failed + 1))
        else
            echo "PASS: teardown ($((SECONDS - t0)) s, no process left)"
            passed=$((passed + 1))
        fi
    else
        echo "FAIL: teardown"
        failed=$((failed + 1))
    fi
    rm -rf "$logs"
    echo "integration: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
trap 'finish; exit $?' EXIT

"$cluster" down >/dev/null 2>&1
start=$(date +%s%N)
if ! "$cluster" up 4; then
    failed=$((failed + 1))
    exit 1
fi
echo "PASS: cluster up, 4 nodes idle in $(( ($(date +%s%N) - start) / 1000000 )) ms"
passed=$((passed + 1))

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=("$here"/t-*.sh)
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    t0=$(date +%s%N)
    if bash "$t" >"$logs/$name.log" 2>&1; then
        echo "PASS: $name ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        sed 's/^/    /' "$logs/$name.log"
        failed=$((failed + 1))
    fi
done
