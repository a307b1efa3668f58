#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Zenith's placement core against a model of stock select/cons_tres (22.05, topology/tree) on the
# Philly trace: the whole trace on its 552-node cluster, then the time of one decision on
# synthetic clusters of 1,000 and 10,000 nodes. Needs a built tree (bench/placement-sim) and the
# shared fixtures; skips (exit 77) without them. Arguments go to every run, for example:
#   bench/placement-sim.sh [--leaf-size N] [--limit N] [--iterations N]
# Then a sweep of the gangs' leaf wait (--leaf-wait) at the trace's load and at --compress 3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sim=${ZENITH_BUILDDIR:-$top/build}/bench/placement-sim
traces=${ZENITH_SHARED_FIXTURES:-$top/../shared/fixtures}/traces/philly
machines=$traces/cluster_machine_list.csv
trace=$traces/chronus_trace_job_Philly_MIX1.csv

if [ ! -r "$machines" ] || [ ! -r "$trace" ]; then
    echo "skipped: no ../shared fixtures"
    exit 77
fi
if [ ! -x "$sim" ]; then
    echo "zenith: $sim is not built (make bench/placement-sim in the build directory)" >&2
    exit 1
fi

"$sim" "$@" "$machines" "$trace"
for nodes in 1000 10000; do
    "$sim" --scale "$nodes" "$@"
done

# The wait rule's trade (zenith_gang_leaf_wait): the same trace at its own load and with
# arrivals 3 times as fast, one row per leaf wait, stock first.
row() { # label, a zenith: or stock: line of placement-sim
    echo "$2" | sed -E 's/.*multi-node, [0-9]+ \(([0-9.]+)%\) inside one leaf switch; wait mean ([0-9.]+) s, p95 ([0-9]+) s; stranded ([0-9.]+) GPU-h; makespan ([0-9]+) s.*/\1 \2 \3 \4 \5/' |
        awk -v l="$1" '{ printf "%-10s %8s%% %9s %8s %10s %9s\n", l, $1, $2, $3, $4, $5 }'
}
for compress in 1 3; do
    echo
    echo "leaf wait sweep, arrivals divided by $compress (--compress $compress); times in trace seconds"
    printf "%-10s %9s %9s %8s %10s %9s\n" leaf_wait one-leaf "wait mean" "wait p95" stranded-h makespan
    for wait in 0 30 120 600 1800 3600; do
        out=$("$sim" "$@" --compress "$compress" --leaf-wait "$wait" "$machines" "$trace")
        [ "$wait" = 0 ] && row stock "$(echo "$out" | grep -m1 '^stock:')"
        row "$wait s" "$(echo "$out" | grep -m1 '^zenith:')"
    done
done

# NVLink blocks of 8 consecutive 8-GPU nodes (64 GPUs, inside the 32-node leaves), at the trace's load
# and 3 times as fast: gangs inside one block under each policy (the stock model knows none).
for compress in 1 3; do
    echo
    "$sim" "$@" --compress "$compress" --block-size 8 "$machines" "$trace" |
        grep -E '^blocks:|NVLink block of|^zenith/stock: one'
done
