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
for f in "$ZENITH_BUILDDIR/tests/integration/pmix_hello" "$ZENITH_BUILDDIR/tools/zenith-plan" \
    "$ZENITH_BUILDDIR/spank/.libs/zenith.so" "$ZENITH_BUILDDIR/launcher/zenith-run"; do
    [ -e "$f" ] || { echo "integration: $f is not built; run make first" >&2; exit 1; }
done

export ZENITH_SRCDIR="$src"
export ZENITH_CLUSTER_DIR=${ZENITH_TEST_CLUSTER_DIR:-/var/tmp/zenith-test-cluster}
export ZENITH_CLUSTER_PORT=${ZENITH_TEST_CLUSTER_PORT:-17817}
export ZENITH_CLUSTER_NAME=zenith-test
export ZENITH_PLAN="$ZENITH_BUILDDIR/tools/zenith-plan"
export ZENITH_SPANK_PLUGIN="$ZENITH_BUILDDIR/spank/.libs/zenith.so"
# Every node has this machine's topology, so plans are applied for real (t-spank-report.sh
# runs a second cluster with GPU servers' topologies in report mode). A small huge page limit
# keeps the tests' reservations cheap; PrologSlurmctld shows what slurmctld's side sees.
export ZENITH_SPANK_ARGS="hugepages_max=64M"
# PrologSlurmctld records the SPANK job environment slurmctld holds for each job
# (t-spank-gang.sh reads it); slurmctld gives the script no hint of where to write.
rm -rf "$ZENITH_CLUSTER_DIR/prolog-slurmctld"
mkdir -p "$ZENITH_CLUSTER_DIR/prolog-slurmctld"
cat >"$ZENITH_CLUSTER_DIR/prolog-slurmctld.sh" <<PROLOG
#!/bin/sh
env | grep '^SPANK_' >"$ZENITH_CLUSTER_DIR/prolog-slurmctld/\$SLURM_JOB_ID" || true
exit 0
PROLOG
chmod 755 "$ZENITH_CLUSTER_DIR/prolog-slurmctld.sh"
export ZENITH_CLUSTER_CONF_EXTRA="PrologSlurmctld=$ZENITH_CLUSTER_DIR/prolog-slurmctld.sh"
unset ZENITH_CLUSTER_XML ZENITH_PLUGSTACK
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
        hp_end=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
        if [ "$hp_end" != "$hp_start" ]; then
            echo "FAIL: teardown: HugePages_Total is $hp_end, it was $hp_start before the tests"
            failed=$((failed + 1))
        elif [ -n "$left" ]; then
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
hp_start=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
trap 'finish; exit $?' EXIT

"$cluster" down >/dev/null 2>&1
hp_start=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
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
    bash "$t" >"$logs/$name.log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "PASS: $name ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
        passed=$((passed + 1))
    elif [ "$rc" -eq 77 ]; then
        echo "SKIP: $name ($(tail -n1 "$logs/$name.log"))"
    else
        echo "FAIL: $name"
        sed 's/^/    /' "$logs/$name.log"
        failed=$((failed + 1))
    fi
done
