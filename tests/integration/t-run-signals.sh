#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith-run supervises its program: scancel of a running job delivers SIGTERM to it (it logs
# it, exactly once) and the job ends CANCELLED; scancel --signal=USR1 of a step reaches it
# too; a signal sent to zenith-run itself is forwarded; a program exiting 3 makes the task
# exit 3; a program killed by a signal is reported and exits 128+N.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# The program: logs every signal it gets and says it is ready, then waits.
cat >"$work/child.py" <<'PY'
import os, signal, sys, time
log = open(os.path.join(os.environ["LOGDIR"], "rank." + os.environ["RANK"]), "a", buffering=1)
def on(sig, frame):
    log.write(signal.Signals(sig).name + "\n")
    if sig == signal.SIGTERM:
        sys.exit(0)
for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(s, on)
log.write("ready %d\n" % os.getpid())
os.write(int(os.environ["ZENITH_READY_FD"]), b"1")
while True:
    time.sleep(0.05)
PY
export LOGDIR="$work/logs"
mkdir -m 1777 "$LOGDIR"

wait_ready() { # N: wait until N ranks logged "ready"
    for _ in $(seq 200); do
        [ "$(cat "$LOGDIR"/rank.* 2>/dev/null | grep -c '^ready')" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "ranks not ready: $(cat "$LOGDIR"/rank.* 2>/dev/null)"
}

cat >"$work/job.sh" <<JOB
#!/bin/bash
srun --mpi=pmix "$zenith_run" "$python" "$work/child.py"
echo "srun exit \$?"
JOB
id=$(sbatch --parsable -N2 -n4 -o "$work/job.out" "$work/job.sh") || fail "sbatch failed"
wait_ready 4
run scancel --signal=USR1 "$id.0"
for _ in $(seq 100); do
    [ "$(cat "$LOGDIR"/rank.* | grep -c '^SIGUSR1')" -ge 4 ] && break
    sleep 0.1
done
# zenith-run itself gets a signal from a user: it forwards it.
pid=$(pgrep -f "^$zenith_run $python $work/child.py" | head -1)
[ -n "$pid" ] || fail "no zenith-run process found"
kill -USR2 "$pid"
for _ in $(seq 100); do
    grep -q '^SIGUSR2' "$LOGDIR"/rank.* && break
    sleep 0.1
done
run scancel "$id"
wait_job "$id" || fail "job $id did not end"
expect_eq "$(scontrol show job "$id" | grep -o 'JobState=[A-Z]*')" "JobState=CANCELLED" "state of the cancelled job"
for r in 0 1 2 3; do
    got=$(grep -v '^ready' "$LOGDIR/rank.$r" | tr '\n' ' ')
    case "$got" in
    "SIGUSR1 SIGTERM " | "SIGUSR1 SIGUSR2 SIGTERM ") ;;
    *) fail "rank $r's program got: '$got' (wanted SIGUSR1, SIGTERM once each; SIGUSR2 on one rank); job output: $(cat "$work/job.out")" ;;
    esac
done
expect_eq "$(cat "$LOGDIR"/rank.* | grep -c '^SIGUSR2')" 1 "programs that got the USR2 sent to one zenith-run"
grep -q 'killed by signal' "$work/job.out" && fail "a program was killed instead of exiting from its handler: $(cat "$work/job.out")"

# Exit status: the program's, or 128+signal with a message.
run srun -N2 -n2 --mpi=pmix "$zenith_run" sh -c 'exit 3' 2>/dev/null
expect_eq "$?" 3 "srun's exit status when every program exits 3"
out=$(run srun -N1 -n1 --mpi=pmix "$zenith_run" sh -c 'kill -SEGV $$' 2>&1)
expect_eq "$?" $((128 + 11)) "srun's exit status when the program is killed by SIGSEGV"
echo "$out" | grep -q "zenith: rank 0 (zn[0-9]): sh was killed by signal 11 (Segmentation fault)" ||
    fail "no report of the signal: $out"
out=$(run srun -N1 -n1 --mpi=pmix "$zenith_run" zenith-no-such-program 2>&1)
expect_eq "$?" 127 "exit status for a program that is not found"
echo "$out" | grep -q "cannot start zenith-no-such-program" || fail "no message for a missing program: $out"
