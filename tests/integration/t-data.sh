#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith-run --data: the data service of each rank, on the real cluster. srun -N2 -n4 gives
# every rank its share of a token file (checked token by token by a C consumer, every sample
# of the epoch exactly once over the ranks, padding aside); with the job's huge pages the
# arena lives in them; kill -9 of zenith-run and scancel leave no memfd mapping, no /dev/shm
# entry and no huge page behind; a missing file and an unknown SPEC key fail every rank with
# a message that names them.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
dp_check="$ZENITH_BUILDDIR/tests/integration/dp_check"
seq_len=16
windows=1003 # not a multiple of 4 ranks: the last round is padded
tokens=$((seq_len * windows + 1))
"$python" -c "
import array, sys
a = array.array('H', (t % 65521 for t in range($tokens)))
with open(sys.argv[1], 'wb') as f: a.tofile(f)" "$work/train.bin" || fail "cannot write the token file"
chmod 644 "$work/train.bin"
spec="path=$work/train.bin,seq_len=$seq_len,batch=8,seed=42"
total() { awk '/^HugePages_Total/ { print $2 }' /proc/meminfo; }
free_pages() { awk '/^HugePages_Free/ { print $2 }' /proc/meminfo; }
mapped() { grep -l 'memfd:zenith-data' /proc/[0-9]*/maps 2>/dev/null | wc -l; }
shm_before=$(ls /dev/shm | sort)

# Four ranks on two nodes: each checks its windows; together they cover the epoch.
out=$(run srun -N2 -n4 --mpi=pmix "$zenith_run" --verbose --data "$spec" "$dp_check" "$work/ids" 2>&1) ||
    fail "the 4-rank data job failed: $out"
for r in 0 1 2 3; do
    echo "$out" | grep -q "dp_check: rank $r: 32 batches, 251 samples" ||
        fail "rank $r did not take 251 samples in 32 batches: $out"
done
echo "$out" | grep -q "zenith: rank 0 data: tokens $work/train.bin: 1003 samples per epoch, rank 0 of 4 takes 251" ||
    fail "zenith-run --verbose does not describe the data service: $out"
expect_eq "$(cat "$work"/ids.* | wc -l)" 1004 "samples delivered over the 4 ranks"
expect_eq "$(cat "$work"/ids.* | sort -u | wc -l)" 1003 "distinct samples delivered"
expect_eq "$(cat "$work"/ids.* | awk '$2 >= 1003' | wc -l)" 0 "samples out of range"
# The order is the seed's, not the run's.
cp "$work/ids.2" "$work/first.2"
run srun -N2 -n4 --mpi=pmix "$zenith_run" --data "$spec" "$dp_check" "$work/ids" >/dev/null 2>&1 ||
    fail "the second 4-rank run failed"
cmp -s "$work/ids.2" "$work/first.2" || fail "rank 2 got another order with the same seed"
# ZENITH_DATA is the same as --data, and the pread path gives the same batches.
ZENITH_DATA="$spec,io=pread" run srun -N2 -n4 --mpi=pmix "$zenith_run" "$dp_check" "$work/ids" >/dev/null 2>&1 ||
    fail "the run with ZENITH_DATA and io=pread failed"
cmp -s "$work/ids.2" "$work/first.2" || fail "rank 2 got another order through pread"

# Bad input fails before the program starts, on every rank, naming what is wrong.
out=$(run srun -N2 -n2 --mpi=pmix "$zenith_run" --data "path=$work/missing.bin,seq_len=16" "$dp_check" "$work/x" 2>&1) &&
    fail "a missing data file was accepted: $out"
echo "$out" | grep -q "missing.bin" || fail "no message naming the missing file: $out"
echo "$out" | grep -q "dp_check" && fail "the program started although the data was missing: $out"
out=$(run srun -N1 -n1 --mpi=pmix "$zenith_run" --data "$spec,colour=red" "$dp_check" "$work/x" 2>&1) &&
    fail "an unknown SPEC key was accepted: $out"
echo "$out" | grep -q "unknown key 'colour'" || fail "no message naming the unknown key: $out"

# The service's threads stay on the rank's CPUs: two ranks bound to a core each on one node.
DP_CHECK_SLEEP=3 run srun -w zn3 -n2 -J zn-data-cpus --mpi=pmix --zenith-bind=core "$zenith_run" \
    --data "$spec,async=1" "$dp_check" "$work/cpus" >"$work/cpus.out" 2>&1 &
for _ in $(seq 150); do [ "$(grep -c "holds a batch" "$work/cpus.out" 2>/dev/null)" = 2 ] && break; sleep 0.2; done
[ "$(grep -c "holds a batch" "$work/cpus.out")" = 2 ] || fail "the 2-rank data job did not start: $(cat "$work/cpus.out")"
for pid in $(pgrep -f "^$zenith_run --data $spec,async=1"); do
    child=$(pgrep -P "$pid" | head -1)
    want=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$child/status")
    threads=0
    for t in /proc/"$pid"/task/*; do
        threads=$((threads + 1))
        expect_eq "$(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status")" "$want" \
            "CPUs of zenith-run thread $(cat "$t/comm") (rank CPUs $want)"
    done
    [ "$threads" -ge 2 ] || fail "zenith-run $pid has no data service thread"
done
wait

# Huge pages the job reserved back the arena; kill -9 of zenith-run leaves nothing behind.
base=$(total)
DP_CHECK_SLEEP=300 run srun -w zn2 -n1 -J zn-data-kill --mpi=pmix --zenith-hugepages=16M "$zenith_run" \
    --verbose --data "$spec,slots=4" "$dp_check" "$work/kill" >"$work/kill.out" 2>&1 &
for _ in $(seq 150); do grep -q "holds a batch" "$work/kill.out" 2>/dev/null && break; sleep 0.2; done
grep -q "holds a batch" "$work/kill.out" || fail "the data job did not start: $(cat "$work/kill.out")"
grep -q "slots of 2M (huge pages" "$work/kill.out" || fail "the arena is not in the job's huge pages: $(cat "$work/kill.out")"
[ "$(free_pages)" -lt "$(total)" ] || fail "no huge page is in use while the arena exists"
pid=$(pgrep -f "^$zenith_run --verbose --data $spec,slots=4" | head -1)
[ -n "$pid" ] || fail "no zenith-run process found"
grep -q 'memfd:zenith-data' "/proc/$pid/maps" || fail "zenith-run has no arena mapped"
id=$(squeue -h -n zn-data-kill -o %i)
[ -n "$id" ] || fail "the data job is not in the queue"
kill -9 "$pid"
wait
wait_job "$id" || fail "the killed job did not end"
for _ in $(seq 150); do [ "$(total)" = "$base" ] && [ "$(mapped)" = 0 ] && break; sleep 0.2; done
expect_eq "$(mapped)" 0 "processes with an arena mapped after kill -9"
expect_eq "$(total)" "$base" "HugePages_Total after kill -9 of zenith-run"
expect_eq "$(free_pages)" "$(total)" "HugePages_Free after kill -9 of zenith-run"

# scancel of a job whose program holds a batch.
cat >"$work/cancel.sh" <<JOB
#!/bin/bash
export DP_CHECK_SLEEP=300
srun --mpi=pmix "$zenith_run" --data "$spec,slots=4" "$dp_check" "$work/cancel"
JOB
id=$(sbatch --parsable -N2 -n2 --zenith-hugepages=16M -o "$work/cancel.out" "$work/cancel.sh") || fail "sbatch failed"
for _ in $(seq 150); do [ "$(grep -c "holds a batch" "$work/cancel.out" 2>/dev/null)" = 2 ] && break; sleep 0.2; done
[ "$(grep -c "holds a batch" "$work/cancel.out")" = 2 ] || fail "the job to cancel did not start: $(cat "$work/cancel.out")"
[ "$(mapped)" -ge 2 ] || fail "no arena mapped while the job runs"
run scancel "$id"
wait_job "$id" || fail "the cancelled job did not end"
for _ in $(seq 150); do [ "$(total)" = "$base" ] && [ "$(mapped)" = 0 ] && break; sleep 0.2; done
expect_eq "$(mapped)" 0 "processes with an arena mapped after scancel"
expect_eq "$(total)" "$base" "HugePages_Total after scancel"
expect_eq "$(free_pages)" "$(total)" "HugePages_Free after scancel"
expect_eq "$(ls /dev/shm | sort)" "$shm_before" "/dev/shm after the data jobs"
