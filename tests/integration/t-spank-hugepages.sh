#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --zenith-hugepages: HugePages_Total rises while the job runs and returns exactly to where it
# was however the job ends: normal exit, scancel, time limit, a SIGKILLed slurmstepd; a later
# step asking for more than an earlier one gets the difference; two concurrent jobs on one node
# each give back their own share.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
pool=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
[ -w "$pool" ] || fail "$pool is not writable; huge page tests need root and a 2M pool"
total() { awk '/^HugePages_Total/ { print $2 }' /proc/meminfo; }
# The epilog gives the pages back a moment after the job ends.
wait_total() { # expected what
    local deadline=$((SECONDS + 60))
    while [ "$(total)" != "$1" ] && ((SECONDS < deadline)); do sleep 0.2; done
    expect_eq "$(total)" "$1" "HugePages_Total $2"
}
# A task that says it started (a file named after its job) and then sleeps.
sleeper() { # seconds
    echo "touch $work/started.\$SLURM_JOB_NAME; exec sleep $1"
}
wait_running() { # job-name -> job id once its task runs
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        if [ -f "$work/started.$1" ]; then
            squeue -h -n "$1" -o %i
            return 0
        fi
        sleep 0.2
    done
    return 1
}
base=$(total)
records="$ZENITH_CLUSTER_DIR/state"

# Normal exit: the task itself sees the pages (8M = 4 x 2M).
seen=$(run srun -w zn2 -n1 --zenith-hugepages=8M awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
expect_eq "$seen" "$((base + 4))" "HugePages_Total inside the job"
wait_total "$base" "after a normal exit"

# Steps of one job: a later step asking for more gets the difference (the job holds the larger
# of the two, 8M = 4 pages, not 1), one asking for less changes nothing, and the epilog gives
# back everything any step added.
meminfo_total="awk '/^HugePages_Total/ { print \$2 }' /proc/meminfo"
cat >steps.sh <<JOB
#!/bin/sh
srun -n1 --zenith-hugepages=2M $meminfo_total >steps.1
srun -n1 --zenith-hugepages=8M --zenith-bind=,verbose $meminfo_total >steps.2 2>steps.2.err
srun -n1 --zenith-hugepages=4M --zenith-bind=,verbose $meminfo_total >steps.3 2>steps.3.err
JOB
sbatch_wait -w zn3 -N1 -o steps.out steps.sh >/dev/null || fail "the job of several steps failed: $(cat steps.out 2>/dev/null)"
expect_eq "$(cat steps.1)" "$((base + 1))" "HugePages_Total in step 1 (2M)"
expect_eq "$(cat steps.2)" "$((base + 4))" "HugePages_Total in step 2 (8M after 2M)"
expect_eq "$(cat steps.3)" "$((base + 4))" "HugePages_Total in step 3 (4M after 8M)"
grep -q "reserved until the job ends (3 added to the 1 an earlier step of this job reserved)" steps.2.err ||
    fail "step 2 does not say it added 3 pages to step 1's: $(cat steps.2.err)"
grep -q "already reserved by an earlier step of this job" steps.3.err ||
    fail "step 3 does not say its pages were already reserved: $(cat steps.3.err)"
wait_total "$base" "after a job whose later step asked for more"

# scancel of a running job.
run srun -w zn2 -n1 -J zn-hp-cancel --zenith-hugepages=8M sh -c "$(sleeper 300)" >/dev/null 2>&1 &
id=$(wait_running zn-hp-cancel) || fail "the scancel job did not start"
expect_eq "$(total)" "$((base + 4))" "HugePages_Total while the job runs"
scancel "$id"
wait
wait_total "$base" "after scancel"

# Time limit (Slurm checks limits about every 30 s).
id=$(sbatch --parsable -w zn3 -t 0:01 -J zn-hp-timeout -o /dev/null --zenith-hugepages=4M --wrap "$(sleeper 300)")
wait_running zn-hp-timeout >/dev/null || fail "the time-limit job did not start"
expect_eq "$(total)" "$((base + 2))" "HugePages_Total while the time-limited job runs"
wait_job "$id"
expect_eq "$(scontrol show job "$id" | grep -o 'JobState=[A-Z]*')" JobState=TIMEOUT "state of the time-limited job"
wait_total "$base" "after a time limit"

# A slurmstepd killed with SIGKILL: no plugin code runs in it any more; the epilog still does.
run srun -w zn2 -n1 -J zn-hp-kill --zenith-hugepages=8M sh -c "$(sleeper 301)" >/dev/null 2>&1 &
srun_pid=$!
id=$(wait_running zn-hp-kill) || fail "the SIGKILL job did not start"
stepd=$(pgrep -f "slurmstepd: \[$id\.0\]") || fail "no slurmstepd for step $id.0"
kill -9 $stepd
# With its slurmstepd gone nothing tracks the task or tells srun: end both, then the job.
pkill -x -f "sleep 301" || true
kill "$srun_pid" 2>/dev/null || true
wait
scancel "$id" 2>/dev/null || true
wait_total "$base" "after slurmstepd was killed"

# Two jobs at once on one node: each returns exactly its own pages.
run srun -w zn4 -n1 -J zn-hp-a --zenith-hugepages=8M sh -c "$(sleeper 300)" >/dev/null 2>&1 &
run srun -w zn4 -n1 -J zn-hp-b --zenith-hugepages=4M sh -c "$(sleeper 300)" >/dev/null 2>&1 &
a=$(wait_running zn-hp-a) || fail "job a did not start"
b=$(wait_running zn-hp-b) || fail "job b did not start"
expect_eq "$(total)" "$((base + 6))" "HugePages_Total with two jobs"
scancel "$a"
wait_total "$((base + 2))" "after the first of two jobs"
scancel "$b"
wait
wait_total "$base" "after both jobs"
expect_eq "$(find "$records" -type f ! -name lock | wc -l)" 0 "reservation records left"
