#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Zenith's placement core against a model of stock select/cons_tres (22.05, topology/tree) on the
# Philly trace: the whole trace on its 552-node cluster, then the time of one decision on
# synthetic clusters of 1,000 and 10,000 nodes. Needs a built tree (bench/placement-sim) and the
# shared fixtures; skips (exit 77) without them. Arguments go to every run, for example:
#   bench/placement-sim.sh [--leaf-size N] [--limit N] [--compress N] [--iterations N]
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
