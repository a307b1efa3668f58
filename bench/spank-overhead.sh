#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the Zenith SPANK plugin adds to starting a step: srun of N tasks on a real local cluster,
# alternating runs with the plugin enabled (site default bind=auto: plan, pin, set memory
# policy, export the environment) and with an empty plugstack.conf, in the same run. Prints the
# medians, the per-task difference and the ratio. Run as root from a built tree:
#   bench/spank-overhead.sh [ROUNDS] [TASKS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${ZENITH_BUILDDIR:-$src/build}
rounds=${1:-20}
tasks=${2:-16}
cluster=$src/contrib/cluster/zenith-cluster
[ "$(id -u)" -eq 0 ] || { echo "spank-overhead: run as root (it starts a local cluster)" >&2; exit 1; }
[ -e "$build/spank/.libs/zenith.so" ] || { echo "spank-overhead: build first (contrib/build.sh)" >&2; exit 1; }

export ZENITH_CLUSTER_DIR=${ZENITH_BENCH_CLUSTER_DIR:-/var/tmp/zenith-bench}
export ZENITH_CLUSTER_PORT=${ZENITH_BENCH_CLUSTER_PORT:-18317}
export ZENITH_CLUSTER_PREFIX=zb ZENITH_CLUSTER_NAME=zenith-bench
export ZENITH_SPANK_PLUGIN=$build/spank/.libs/zenith.so ZENITH_PLAN=$build/tools/zenith-plan
unset ZENITH_CLUSTER_XML ZENITH_PLUGSTACK ZENITH_SPANK_ARGS ZENITH_CLUSTER_CONF_EXTRA
"$cluster" down >/dev/null 2>&1 || true
trap '"$cluster" down >/dev/null' EXIT
"$cluster" up 2 >/dev/null
export SLURM_CONF=$ZENITH_CLUSTER_DIR/etc/slurm.conf
plugstack=$ZENITH_CLUSTER_DIR/etc/plugstack.conf
with=$(cat "$plugstack")
without="# Zenith disabled for the baseline"

# srun and every slurmstepd read plugstack.conf when they start, so switching the file
# switches the plugin for the next step.
step_ms() {
    local t0 t1
    t0=$(date +%s%N)
    srun -N2 -n "$tasks" --overcommit true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

on=() off=()
for mode in "$with" "$without"; do # warm-up: page cache, munge, first connections
    echo "$mode" >"$plugstack"
    step_ms >/dev/null
done
for ((r = 0; r < rounds; r++)); do
    echo "$with" >"$plugstack"
    on+=("$(step_ms)")
    echo "$without" >"$plugstack"
    off+=("$(step_ms)")
done
echo "$with" >"$plugstack"

on_us=$(printf '%s\n' "${on[@]}" | median)
off_us=$(printf '%s\n' "${off[@]}" | median)
awk -v on="$on_us" -v off="$off_us" -v n="$tasks" -v r="$rounds" 'BEGIN {
    printf "spank-overhead: srun -N2 -n%d true, %d rounds each, medians\n", n, r
    printf "  without plugin: %8.1f ms\n", off / 1000
    printf "  with plugin:    %8.1f ms\n", on / 1000
    printf "  per task:       %8.1f us (difference / %d tasks)\n", (on - off) / n, n
    printf "  ratio with/without: %.3f\n", on / off
}'
