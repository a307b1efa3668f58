#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A slice of the Philly trace replayed in a real local Slurm cluster: stock select/cons_tres
# (with topology/tree), then Zenith's three slurmctld plugins, the same jobs submitted at the same
# (scaled) times with sbatch. Prints, for each run, the share of multi-node jobs inside one leaf
# switch, queue wait (mean, p95, and mean per request shape), GPU-hours stranded on partly used
# nodes and the makespan, read from slurmctld's own job completion log, then the Zenith/stock
# ratios.
#
#   bench/trace-replay.sh [--nodes N] [--leaf-size N] [--from S] [--span S]
#                         [--one-node-every K] [--time-scale X] [--leaf-wait S]
#                         [--pairs N] [--keep DIR]
#
# --nodes (default 32) and --leaf-size (default 8) shape the cluster: nodes of 8 GPUs with the
# CPUs of an 8xH100 server (tests/fixtures), leaf switches of --leaf-size nodes under one spine.
# --from, --span, --one-node-every and --time-scale choose the slice (bench/trace-replay plan
# --help). --leaf-wait S is the gangs' wait for a leaf switch under Zenith in the trace's
# seconds (zenith_gang_leaf_wait, divided by the time scale like every other time; default
# 1800, the plugin's own default). --pairs N (1 to 5, default 1) runs the pair N times in a row
# (stock-1, zenith-1, stock-2, ...), scores each pair, then every later run against the first of
# its policy: the stock-vs-stock ratios are the noise a difference must beat. --keep DIR keeps
# the plan, topology.conf, and every run's job completion log and slurmctld log there. Needs
# root and a tree built with --with-slurm-source; skips (exit 77) without ../shared/fixtures.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
replay=$build/bench/trace-replay
plugins=$build/select/.libs
traces=${ZENITH_SHARED_FIXTURES:-$src/../shared/fixtures}/traces/philly
trace=$traces/chronus_trace_job_Philly_MIX1.csv

nodes=32 leaf_size=8 scale=10 leaf_wait=1800 pairs=1 keep="" plan_args=()
usage() { sed -n '10,23p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --nodes) nodes=${2:?--nodes needs a value}; plan_args+=(--nodes "$2"); shift 2 ;;
    --leaf-size) leaf_size=${2:?--leaf-size needs a value}; shift 2 ;;
    --time-scale) scale=${2:?--time-scale needs a value}; plan_args+=("$1" "$2"); shift 2 ;;
    --from | --span | --one-node-every)
        plan_args+=("$1" "${2:?$1 needs a value}")
        shift 2
        ;;
    --leaf-wait) leaf_wait=${2:?--leaf-wait needs a value}; shift 2 ;;
    --pairs) pairs=${2:?--pairs needs a value}; shift 2 ;;
    --keep) keep=${2:?--keep needs a directory}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "zenith: trace-replay.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
    esac
done
[[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -ge 2 ] && [ "$nodes" -le 64 ] ||
    { echo "zenith: --nodes takes 2 to 64 nodes (zenith-cluster's range), not '$nodes'" >&2; exit 2; }
[[ "$leaf_wait" =~ ^[0-9]+$ ]] ||
    { echo "zenith: --leaf-wait takes whole seconds of the trace, not '$leaf_wait'" >&2; exit 2; }
[[ "$pairs" =~ ^[1-5]$ ]] ||
    { echo "zenith: --pairs takes 1 to 5 pairs of runs, not '$pairs'" >&2; exit 2; }
[[ "$scale" =~ ^[0-9]+$ ]] && [ "$scale" -ge 1 ] ||
    { echo "zenith: --time-scale takes a whole number from 1, not '$scale'" >&2; exit 2; }
if [ ! -r "$trace" ]; then
    echo "skipped: no ../shared fixtures"
    exit 77
fi
bench_need "$replay" "$plugins/select_zenith_cons_tres.so" "$build/spank/.libs/zenith.so"

work=$(mktemp -d /tmp/zenith-replay.XXXXXX)
chmod 755 "$work"
bench_on_exit='rm -rf "$work"'
trap "$bench_on_exit" EXIT
"$replay" plan "${plan_args[@]}" "$trace" >"$work/plan" || exit 2
grep '^#' "$work/plan" | head -n 2 | sed 's/^# //'

export ZENITH_BENCH_CLUSTER_DIR=${ZENITH_BENCH_CLUSTER_DIR:-/var/tmp/zenith-replay}
export ZENITH_CLUSTER_LEAF_SIZE=$leaf_size
export ZENITH_BENCH_CLUSTER_XML=$src/tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml
jobcomp=$ZENITH_BENCH_CLUSTER_DIR/log/jobcomp.log

# One run: the cluster with or without Zenith's plugins, every planned job submitted at its time,
# then everything waited for; the job completion log is kept as $work/$2.log ($2 names the run).
replay_run() {
    local policy=$1 run=$2 t0 name at job_nodes gpus duration limit id now gang submitted=0
    if [ "$policy" = zenith ]; then export ZENITH_CTLD_PLUGINS=$plugins; else unset ZENITH_CTLD_PLUGINS; fi
    rm -f "$jobcomp" # a record left by an earlier run would count as one of this run's
    # Backfill every second, a completion record of every job from slurmctld, and each choice
    # of Zenith's select plugin logged (cons_tres logs its own under the flag).
    bench_cluster_up "$nodes" "JobCompType=jobcomp/filetxt
JobCompLoc=$jobcomp
SchedulerParameters=bf_interval=1,bf_resolution=1,zenith_gang_leaf_wait=$(((leaf_wait + scale / 2) / scale))
DebugFlags=SelectType
SlurmctldDebug=verbose"
    t0=$(date +%s%N)
    while read -r name at job_nodes gpus duration limit id; do
        [[ "$name" == \#* ]] && continue
        now=$((($(date +%s%N) - t0) / 1000000))
        if [ "$at" -gt "$now" ]; then sleep "$(printf '%d.%03d' $(((at - now) / 1000)) $(((at - now) % 1000)))"; fi
        gang=()
        [ "$policy" = zenith ] && [ "$job_nodes" -gt 1 ] && gang=(--zenith-gang)
        timeout 60 sbatch --quiet -J "$name" -o /dev/null -N "$job_nodes" --ntasks-per-node=1 \
            --gpus-per-node="$gpus" --time="$limit" "${gang[@]}" --chdir=/tmp \
            --wrap "sleep $duration" ||
            { echo "zenith: sbatch of $name (trace job $id) failed in the $policy run" >&2; return 1; }
        submitted=$((submitted + 1))
    done <"$work/plan"
    local deadline=$((SECONDS + 3600)) done_count=0
    while ((SECONDS < deadline)); do
        done_count=$( (grep -c . "$jobcomp" 2>/dev/null || true) | tail -n1)
        [ "$done_count" -ge "$submitted" ] && [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
        sleep 1
    done
    [ "$done_count" -ge "$submitted" ] ||
        { echo "zenith: the $policy run finished $done_count of $submitted jobs within an hour" >&2; return 1; }
    cp "$jobcomp" "$work/$run.log"
    cp "$ZENITH_BENCH_CLUSTER_DIR/log/slurmctld.log" "$work/$run-slurmctld.log"
    cp "$ZENITH_BENCH_CLUSTER_DIR/etc/topology.conf" "$work/topology.conf"
    echo "$run run: $submitted jobs in $((($(date +%s%N) - t0) / 1000000000)) s;" \
        "$(scontrol show config | awk '$1 == "SelectType" || $1 == "JobSubmitPlugins" { printf "%s%s=%s", sep, $1, $3; sep = " " }')"
    "$cluster" down >/dev/null
}

# One pair keeps the plain names (stock, zenith); a series numbers its runs.
run_name() { if [ "$pairs" = 1 ]; then echo "$1"; else echo "$1-$2"; fi; }
score() { # the two runs' names
    "$replay" score --nodes "zb[1-$nodes]" --topology "$work/topology.conf" --time-scale "$scale" \
        --names "$1,$2" "$work/plan" "$work/$1.log" "$work/$2.log"
}
for ((i = 1; i <= pairs; i++)); do
    replay_run stock "$(run_name stock "$i")"
    replay_run zenith "$(run_name zenith "$i")"
done
for ((i = 1; i <= pairs; i++)); do
    score "$(run_name stock "$i")" "$(run_name zenith "$i")"
done
if [ "$pairs" -gt 1 ]; then
    echo "The noise of a repeat: each later run of a policy scored against its first."
    for policy in stock zenith; do
        for ((i = 2; i <= pairs; i++)); do
            score "$policy-1" "$policy-$i"
        done
    done
fi
if [ -n "$keep" ]; then
    mkdir -p "$keep" && cp "$work"/{plan,topology.conf} "$work"/*.log "$keep/"
fi
