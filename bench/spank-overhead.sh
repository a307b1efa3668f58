#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the Zenith SPANK plugin adds to starting a step: srun of N tasks on a real local cluster,
# alternating runs with the plugin enabled (site default bind=auto: plan, pin, set memory
# policy, export the environment) and with an empty plugstack.conf, in the same run. Prints the
# medians, the per-task difference and the ratio. Run as root from a built tree:
#   bench/spank-overhead.sh [ROUNDS] [TASKS]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
rounds=${1:-20}
tasks=${2:-16}
bench_need "$build/spank/.libs/zenith.so"
bench_cluster_up 2
without="# Zenith disabled for the baseline"

step_ms() {
    local t0 t1
    t0=$(date +%s%N)
    srun -N2 -n "$tasks" --overcommit true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
}

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
