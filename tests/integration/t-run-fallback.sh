#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Without PMIx (srun --mpi=none) ranks come from Slurm's environment with a one-line notice;
# outside Slurm zenith-run is rank 0 of 1; a bad shape stops every rank at once with a
# message saying what to change, and the program never starts.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

out=$(run srun -N2 -n4 --mpi=none "$zenith_run" sh -c \
    'echo "R=$RANK W=$WORLD_SIZE L=$LOCAL_RANK LW=$LOCAL_WORLD_SIZE N=$NODE_RANK M=$MASTER_ADDR:$MASTER_PORT B=$ZENITH_BOOTSTRAP"' 2>&1) ||
    fail "srun --mpi=none zenith-run failed: $out"
ranks=$(echo "$out" | grep '^R=')
expect_eq "$(echo "$ranks" | sed 's/^R=\([0-9]*\) .*/\1/' | sort -n | tr '\n' ' ')" "0 1 2 3 " "RANKs without PMIx"
expect_eq "$(echo "$ranks" | sed 's/.* W=\([0-9]*\) L=[0-9]* LW=\([0-9]*\) .*/\1 \2/' | sort -u)" "4 2" "WORLD_SIZE and LOCAL_WORLD_SIZE"
expect_eq "$(echo "$ranks" | sed 's/.* M=\([^ ]*\) .*/\1/' | sort -u | sed 's/:.*//')" zn1 "MASTER_ADDR: the first node"
expect_eq "$(echo "$ranks" | sed 's/.* M=\([^ ]*\) .*/\1/' | sort -u | wc -l)" 1 "one MASTER_ADDR:MASTER_PORT"
expect_eq "$(echo "$ranks" | sed 's/.* B=//' | sort -u)" slurm "bootstrap"
expect_eq "$(echo "$out" | grep -c '^zenith: no PMIx server in this step')" 1 "notices (rank 0 only)"

# No Slurm at all: rank 0 of 1, a verified port on loopback; a DDP program runs alone.
out=$(env -u SLURM_CONF "$zenith_run" sh -c 'echo "$RANK $WORLD_SIZE $LOCAL_RANK $MASTER_ADDR $ZENITH_BOOTSTRAP"') ||
    fail "zenith-run outside Slurm failed: $out"
expect_eq "$out" "0 1 0 127.0.0.1 single" "rank outside Slurm"
cp "$ZENITH_SRCDIR/contrib/examples/ddp_train.py" "$work/"
out=$(STEPS=1 "$zenith_run" "$python" "$work/ddp_train.py" 2>&1) || fail "DDP alone failed: $out"
echo "$out" | grep -q '^rank 0/1 .* ranks 0$' || fail "DDP alone: $out"
# A batch script without srun is one process, not a rank of the job's tasks.
id=$(sbatch_wait -N2 -n4 -o "$work/batch.out" --wrap "$zenith_run sh -c 'echo \$WORLD_SIZE \$ZENITH_BOOTSTRAP'") ||
    fail "batch job failed"
expect_eq "$(cat "$work/batch.out")" "1 single" "zenith-run in a batch script without srun"

# Two ranks on a node whose step has one GPU: both stop before the program, no hang, and the
# rank on the other node (which has its GPU) stops too.
start=$SECONDS
out=$(run srun -N2 -n3 --gres=gpu:1 --mpi=pmix "$zenith_run" touch "$work/started" 2>&1)
rc=$?
[ "$rc" -ne 0 ] || fail "a 2-ranks-per-GPU step started: $out"
[ $((SECONDS - start)) -lt 30 ] || fail "the failing step took $((SECONDS - start)) s"
[ ! -e "$work/started" ] || fail "the program started although a rank could not"
echo "$out" | grep -q "zenith: zn1 runs 2 ranks but the step has 1 GPU there; give every rank a GPU (srun --gpus-per-task=1, or --ntasks-per-node=1), or pass --share-gpus" ||
    fail "no message naming the node and the fix: $out"
out=$(run srun -N1 -n2 --gres=gpu:1 --mpi=pmix "$zenith_run" --share-gpus true 2>&1) ||
    fail "--share-gpus did not allow sharing: $out"

# Bad options and environment: refused before anything starts, naming the value.
out=$(run srun -N1 -n1 "$zenith_run" --bind=fast true 2>&1)
expect_eq "$?" 2 "exit status for a bad option"
echo "$out" | grep -q "zenith: --bind=fast is not a bind mode" || fail "bad --bind: $out"
out=$(ZENITH_PORT_RANGE=10-20 run srun -N1 -n1 "$zenith_run" true 2>&1)
echo "$out" | grep -q "zenith: ZENITH_PORT_RANGE 10-20: ports must be 1024-65535" || fail "bad ZENITH_PORT_RANGE: $out"
