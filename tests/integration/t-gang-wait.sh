#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The gang wait rule in a real 8-node cluster (two leaf switches of four 8-GPU nodes) with all
# three slurmctld plugins: with one idle node per leaf, a 2x8 gang waits for a leaf instead of
# spanning both and starts in the leaf that frees within its wait; it does not wait where
# backfill's plan (the running jobs' time limits) frees no leaf before the wait ends; without
# such a plan it takes the spine once a short wait has run out. job_submit stamps the job's own
# wait and refuses one over the site's maximum; the SPANK plugin refuses a wait without a gang.
# shellcheck shell=bash
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
ctld_cluster gangwait 600 zw
# Backfill every second: a held gang is looked at again soon after its wait ends.
export ZENITH_CLUSTER_CONF_EXTRA="DebugFlags=SelectType
SlurmctldDebug=verbose
SchedulerParameters=bf_interval=1,bf_resolution=1,zenith_gang_leaf_wait=300,zenith_gang_leaf_wait_max=600"
unset ZENITH_CTLD_ENABLE
log=$ZENITH_CLUSTER_DIR/log/slurmctld.log
"$cluster" up 8 >/dev/null || fail "the 8-node cluster did not start: $("$cluster" logs | tail -n 40)"

# zw4 and zw8 idle, every other node full: a 2x8 gang fits only across the two leaves. The
# jobs have no time limit (MaxTime=INFINITE), but the one on zw2 gets $1 minutes when given.
fill() {
    busy=()
    for n in 1 2 3 5 6 7; do
        limit=()
        [ "$n" = 2 ] && [ -n "${1:-}" ] && limit=(--time="$1")
        busy[n]=$(submit -w "zw$n" --gpus-per-node=8 "${limit[@]}")
    done
    for n in 1 2 3 5 6 7; do running "${busy[n]}" 60 >/dev/null; done
}

# A 2x8 gang with the given wait, run: sets gang, nodes, and waited (s from submission to start).
run_gang() {
    local submitted
    submitted=$(date +%s)
    gang=$(submit -N2 --gpus-per-node=8 --zenith-gang --zenith-gang-wait="$1")
    nodes=$(running "$gang" 60)
    waited=$(($(date -d "$(field "$gang" StartTime)" +%s) - submitted))
}

# The gang ran on the spine (zw4, zw8), and slurmctld's log says why: $1 names the case, $2 is
# the log's words after "gang 2x8 GPUs".
expect_spine() {
    expect_eq "$nodes" "zw[4,8]" "nodes of $1 (the spine)"
    grep -q "zenith: JobId=$gang gang 2x8 GPUs$2" "$log" ||
        fail "slurmctld did not log why $1 took the spine: $(grep "JobId=$gang" "$log" | tail -n 5)"
}

# ------------------------------------------------------------------ a leaf frees within the wait
# zw2's job ends within a minute by its limit: backfill plans the gang into leaf 1 then.
fill 1
gang=$(submit -N2 --gpus-per-node=8 --zenith-gang --zenith-gang-wait=120)
expect_eq "$(field "$gang" AdminComment)" "zenith-gang:nodes=2,gpus-per-node=8,leaf-wait=120" "job_submit's stamp"
sleep 4
expect_eq "$(field "$gang" JobState)" PENDING "state of a gang with only the spine free, 4 s into a 120 s wait"
grep -q "zenith: JobId=$gang gang 2x8 GPUs waits for a leaf switch" "$log" ||
    fail "slurmctld did not log why the gang waits: $(grep "JobId=$gang" "$log" | tail -n 5)"
grep -q "zenith: JobId=$gang gang 2x8 GPUs would start in leaf-switch\|zenith: JobId=$gang gang 2x8 GPUs would start in switch .* (when its leaf wait ends)" "$log" ||
    fail "backfill did not plan the gang with the wait rule: $(grep "JobId=$gang" "$log" | tail -n 5)"
scancel "${busy[2]}"
nodes=$(running "$gang" 60)
expect_eq "$nodes" "zw[2,4]" "nodes of the gang once zw2 freed within its wait (one leaf, not zw[4,8])"
gone "$gang" "${busy[@]}"

# ------------------------------------------------------------------ no leaf frees within the wait
# No job has a limit: by backfill's plan no leaf frees before the 120 s wait ends, so holding
# the gang would only stop the main scheduler for everything behind it. The spine, at once.
fill
run_gang 120
expect_spine "a gang whose wait cannot end in a leaf" \
    " does not wait for a leaf switch: backfill's plan starts it in none before its leaf wait ends"
[ "$waited" -lt 60 ] || fail "the gang took the spine $waited s after submission; its wait could not pay"
gone "$gang"

# No wait asked (0): the spine at once, as before the rule.
run_gang 0
expect_eq "$nodes" "zw[4,8]" "nodes of a gang with --zenith-gang-wait=0"
gone "$gang" "${busy[@]}"

# ------------------------------------------------------------------ the wait runs out
# Without a plan from backfill (none within 5 minutes here) the wait stands as asked, and the
# main scheduler, every second here, places the gang on the spine once it has run out.
"$cluster" down >/dev/null
export ZENITH_CLUSTER_CONF_EXTRA="DebugFlags=SelectType
SlurmctldDebug=verbose
SchedulerParameters=bf_interval=300,sched_interval=1,zenith_gang_leaf_wait=300,zenith_gang_leaf_wait_max=600"
"$cluster" up 8 >/dev/null || fail "the 8-node cluster did not restart: $("$cluster" logs | tail -n 40)"
fill
run_gang 6
expect_spine "the gang after its 6 s wait" ": switch spine (zw4,zw8)"
[ "$waited" -ge 5 ] || fail "the gang took the spine $waited s after submission, before its 6 s wait ended"
gone "$gang" "${busy[@]}"

# ------------------------------------------------------------------ refusals
out=$(sbatch -N2 --gpus-per-node=8 --zenith-gang --zenith-gang-wait=601 -o /dev/null --wrap true 2>&1) &&
    fail "a wait over zenith_gang_leaf_wait_max was accepted"
echo "$out" | grep -q "zenith: --zenith-gang-wait=601 is longer than this site allows (600 s" || fail "message: $out"
out=$(sbatch -N2 --gpus-per-node=8 --zenith-gang-wait=60 -o /dev/null --wrap true 2>&1) &&
    fail "a wait without --zenith-gang was accepted"
echo "$out" | grep -q "zenith: --zenith-gang-wait is the wait of a --zenith-gang job" || fail "message: $out"
out=$(sbatch -N2 --gpus-per-node=8 --zenith-gang --zenith-gang-wait=2min -o /dev/null --wrap true 2>&1) &&
    fail "a wait with a unit was accepted"
echo "$out" | grep -q "zenith: --zenith-gang-wait=2min is not a number of seconds" || fail "message: $out"
echo "gang wait rule: leaf within the wait, no wait that cannot pay, spine after it, refusals named"
