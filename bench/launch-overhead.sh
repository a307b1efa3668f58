#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What zenith-run adds to starting a PMIx job: srun -n8 --mpi=pmix zenith-run true against
# srun -n8 --mpi=pmix pmix_hello (a minimal PMIx program doing what zenith-run's bootstrap does:
# init, one put + fence with data, gets, finalize), alternated run by run on a real local
# 4-node cluster, in three set-ups: Zenith's SPANK plugin enabled (zenith-run finds the tasks
# placed); no plugin, the nodes' topology cache in place (zenith-run plans itself from it, the
# documented installation); no plugin and no cache (zenith-run discovers each node's PCI
# devices in every rank). Prints medians and ratios.
# Run as root from a built tree:  bench/launch-overhead.sh [ROUNDS] [TASKS]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
rounds=${1:-20}
tasks=${2:-8}
zenith_run=$build/launcher/zenith-run
baseline=$build/tests/integration/pmix_hello
bench_need "$zenith_run" "$baseline" "$build/spank/.libs/zenith.so"
bench_cluster_up 4
without="# Zenith's plugin disabled"
cd /tmp

step_us() { # PROGRAM...: microseconds for one srun
    local t0 t1
    t0=$(date +%s%N)
    srun --quiet -n "$tasks" --mpi=pmix "$@" >/dev/null
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
}

setups=(plugin cache discovery)
declare -A runs title=(
    [plugin]="SPANK plugin placed the tasks"
    [cache]="no plugin, zenith-run plans from the topology cache"
    [discovery]="no plugin, no cache: zenith-run discovers the node"
)
for setup in "${setups[@]}"; do
    if [ "$setup" = plugin ]; then echo "$with" >"$plugstack"; else echo "$without" >"$plugstack"; fi
    if [ "$setup" = cache ]; then
        export ZENITH_TOPOLOGY="$ZENITH_CLUSTER_DIR/nodes.d/%n/topology.xml"
    else
        unset ZENITH_TOPOLOGY
    fi
    step_us "$baseline" >/dev/null # warm-up: page cache, munge, first connections
    step_us "$zenith_run" true >/dev/null
    for ((r = 0; r < rounds; r++)); do
        runs[$setup.base]+="$(step_us "$baseline") "
        runs[$setup.zr]+="$(step_us "$zenith_run" true) "
    done
done
echo "$with" >"$plugstack"

echo "launch-overhead: srun -n$tasks --mpi=pmix on 4 nodes, $rounds alternated rounds each, medians"
for setup in "${setups[@]}"; do
    base=$(printf '%s\n' ${runs[$setup.base]} | median)
    zr=$(printf '%s\n' ${runs[$setup.zr]} | median)
    awk -v b="$base" -v z="$zr" -v t="${title[$setup]}" 'BEGIN {
        printf "  %s:\n", t
        printf "    pmix_hello:       %8.1f ms\n", b / 1000
        printf "    zenith-run true:  %8.1f ms\n", z / 1000
        printf "    ratio zenith-run/pmix_hello: %.3f (goal: under 1.10)\n", z / b
    }'
done
