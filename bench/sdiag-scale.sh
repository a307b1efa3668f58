#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What Zenith's slurmctld plugins cost slurmctld itself under load: the same deep queue on the
# same local cluster, once with stock select/cons_tres and once with Zenith's three plugins, and
# slurmctld's own scheduling statistics (sdiag) side by side with the Zenith/stock ratios.
#
#   bench/sdiag-scale.sh [--nodes N] [--jobs N] [--window S] [--seed N] [--leaf-wait S]
#
# --nodes (default 64, zenith-cluster's most) nodes of 8 GPUs with an 8xH100 server's CPUs, leaf
# switches of 8 under one spine; --jobs (default 1000) jobs submitted back to back, the same list
# in both runs (--seed, default 1): one-node jobs of 1, 2, 4 and 8 GPUs and 2x8 and 4x8 jobs
# (gangs under Zenith), each sleeping 20-90 s; then sdiag is reset and the queue runs for
# --window seconds (default 180) before sdiag is read. Main and backfill scheduler use Slurm's
# defaults but bf_interval=5; --leaf-wait sets zenith_gang_leaf_wait (default: the plugin's).
# Needs root and a tree built with --with-slurm-source.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
plugins=$build/select/.libs

nodes=64 jobs=1000 window=180 seed=1 leaf_wait=""
usage() { sed -n '7,15p' "$0" | sed 's/^# \{0,1\}//'; }
number() { [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
    { echo "zenith: $1 takes a whole number from $3 to $4, not '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
    --nodes) number --nodes "${2:-}" 8 64; nodes=$2; shift 2 ;;
    --jobs) number --jobs "${2:-}" 1 100000; jobs=$2; shift 2 ;;
    --window) number --window "${2:-}" 10 3600; window=$2; shift 2 ;;
    --seed) number --seed "${2:-}" 0 4294967295; seed=$2; shift 2 ;;
    --leaf-wait) number --leaf-wait "${2:-}" 0 604800; leaf_wait=",zenith_gang_leaf_wait=$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "zenith: sdiag-scale.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
    esac
done
if [ ! -e "$plugins/select_zenith_cons_tres.so" ]; then
    echo "skipped: the slurmctld plugins are not built (configure --with-slurm-source)"
    exit 77
fi
bench_need "$build/spank/.libs/zenith.so"

work=$(mktemp -d /tmp/zenith-sdiag.XXXXXX)
bench_on_exit='rm -rf "$work"'
trap "$bench_on_exit" EXIT
# The job list: nodes, GPUs per node, seconds.
awk -v n="$jobs" -v seed="$seed" 'BEGIN {
    srand(seed)
    for (i = 0; i < n; i++) {
        r = rand()
        if (r < 0.50) s = "1 1"; else if (r < 0.65) s = "1 2"; else if (r < 0.80) s = "1 4"
        else if (r < 0.90) s = "1 8"; else if (r < 0.97) s = "2 8"; else s = "4 8"
        print s, 20 + int(rand() * 71)
    }
}' >"$work/jobs"

export ZENITH_BENCH_CLUSTER_DIR=${ZENITH_BENCH_CLUSTER_DIR:-/var/tmp/zenith-sdiag}
export ZENITH_BENCH_CLUSTER_PORT=${ZENITH_BENCH_CLUSTER_PORT:-18517}
export ZENITH_CLUSTER_LEAF_SIZE=8
export ZENITH_BENCH_CLUSTER_XML=$src/tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml

# One run: KEY VALUE lines of sdiag's numbers into $work/$1.
sdiag_run() {
    local policy=$1 njobs gpus secs gang submitted=0 t0 idle busy
    if [ "$policy" = zenith ]; then export ZENITH_CTLD_PLUGINS=$plugins; else unset ZENITH_CTLD_PLUGINS; fi
    bench_cluster_up "$nodes" "SchedulerParameters=bf_interval=5$leaf_wait"
    idle=$(sinfo -h -t idle -o %D | awk '{ s += $1 } END { print s + 0 }')
    [ "$idle" -eq "$nodes" ] || { echo "zenith: only $idle of $nodes nodes are idle in the $policy run" >&2; exit 1; }
    t0=$(date +%s)
    while read -r njobs gpus secs; do
        gang=()
        [ "$policy" = zenith ] && [ "$njobs" -gt 1 ] && gang=(--zenith-gang)
        timeout 60 sbatch --quiet -o /dev/null -N "$njobs" --ntasks-per-node=1 --gpus-per-node="$gpus" \
            --time=3 "${gang[@]}" --chdir=/tmp --wrap "sleep $secs" ||
            { echo "zenith: sbatch failed in the $policy run" >&2; exit 1; }
        submitted=$((submitted + 1))
    done <"$work/jobs"
    echo "$policy run: $submitted jobs submitted in $(($(date +%s) - t0)) s on $idle nodes;" \
        "$(scontrol show config | awk '$1 == "SelectType" { print $1 "=" $3 }')"
    sdiag --reset >/dev/null
    sleep "$window"
    # GPUs of the running jobs: what the cluster does with its GPUs, whatever the job count.
    busy=$(squeue -h -t R -o "%D %b" | awk '{ n = $2; sub(/.*:/, "", n); s += $1 * n } END { print s + 0 }')
    sdiag | awk -v pend="$(squeue -h -t PD -o %i | wc -l)" -v busy="$busy" '
        /^Jobs started:/ { print "jobs_started", $3 }
        /^Main schedule statistics/ { sec = "main" }
        /^Backfilling stats/ { sec = "bf" }
        /^Remote Procedure Call/ { sec = "" }
        sec != "" && /^\t[A-Z]/ {
            line = $0; sub(/^\t/, "", line); split(line, kv, ":")
            key = kv[1]; gsub(/[^A-Za-z]+/, "_", key)
            value = kv[2]; gsub(/ /, "", value)
            if (value ~ /^[0-9]+$/) print sec "_" key, value
        }
        END { print "jobs_pending_at_end", pend; print "gpus_busy_at_end", busy }' >"$work/$policy"
    "$cluster" down >/dev/null
}

sdiag_run stock
sdiag_run zenith
echo "sdiag after ${window} s with a ${jobs}-job queue on $nodes nodes (times in microseconds)"
awk 'FNR == NR { stock[$1] = $2; order[++n] = $1; next } { zenith[$1] = $2 }
    END {
        printf "%-40s %12s %12s %8s\n", "", "stock", "zenith", "z/s"
        for (i = 1; i <= n; i++) {
            k = order[i]
            if (!(k in zenith)) continue
            r = stock[k] > 0 ? sprintf("%.3f", zenith[k] / stock[k]) : "n/a"
            printf "%-40s %12s %12s %8s\n", k, stock[k], zenith[k], r
        }
    }' "$work/stock" "$work/zenith"
