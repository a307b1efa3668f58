#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith.data from PyTorch on the real cluster: contrib/examples/train_tokens.py trains a
# byte-level model with DDP (gloo, CPU) on 4 nodes x 2 ranks, on a token file make_tokens.py
# writes from Debian's licence texts, its batches read by zenith-run --data. Every rank gets
# its own samples, together the whole epoch (padding aside); the loss falls on every rank; a
# run resumed from a mid-epoch state (through zenith-run --data ...,epoch=,consumed= and through
# the in-process engine) takes exactly the samples a straight run takes after that step; a
# damaged or missing token file fails every rank with a message naming it.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
"$python" -c 'import torch, numpy' 2>/dev/null ||
    fail "Debian's PyTorch is missing: $python cannot import torch and numpy"
export PYTHONPATH="$ZENITH_BUILDDIR/python"
"$python" -c 'import zenith.data' || fail "$python cannot import zenith.data from $PYTHONPATH"
cp "$ZENITH_SRCDIR/contrib/examples/make_tokens.py" "$ZENITH_SRCDIR/contrib/examples/train_tokens.py" "$work/"

seq_len=64
windows=1003 # not a multiple of 8 ranks: the last round is padded (126 samples a rank)
per_rank=126 # ceil(1003 / 8): 7 batches of 16 and a short one of 14, so 8 steps an epoch
steps=60
"$python" "$work/make_tokens.py" "$work/train.bin" --max-bytes $((windows * seq_len + 1)) ||
    fail "make_tokens.py failed"
expect_eq "$(stat -c %s "$work/train.bin")" $(((windows * seq_len + 1) * 2)) "token file size"
chmod 644 "$work/train.bin"
spec="path=$work/train.bin,seq_len=$seq_len,batch=16,seed=1,epochs=0"
train() {
    run srun -N4 --ntasks-per-node=2 --mpi=pmix "$zenith_run" "$@"
}

# C: the reference, $steps steps straight through the data service.
t0=$SECONDS
out=$(train --data "$spec" "$python" "$work/train_tokens.py" --keep-short --steps $steps \
    --ids "$work/C" 2>&1) || fail "the 8-rank training failed: $out"
echo "$out" | grep ' first-loss '
echo "training C: $((SECONDS - t0)) s"
lines=$(echo "$out" | grep '^rank .* first-loss ')
expect_eq "$(echo "$lines" | awk '{ print $2 }' | sort -t/ -n | tr '\n' ' ')" \
    "0/8 1/8 2/8 3/8 4/8 5/8 6/8 7/8 " "ranks that finished training"
expect_eq "$(echo "$lines" | awk '$6 >= $4' | wc -l)" 0 "ranks whose loss did not fall"
expect_eq "$(echo "$lines" | awk '$6 < 4.5' | wc -l)" 8 "ranks whose last loss is below 4.5"
for r in 0 1 2 3 4 5 6 7; do
    expect_eq "$(wc -l <"$work/C.$r")" $((per_rank * (steps / 8) + 16 * (steps % 8))) \
        "samples rank $r trained on"
    expect_eq "$(awk '$2 == 0' "$work/C.$r" | wc -l)" $per_rank "rank $r's samples of epoch 0"
    expect_eq "$(awk '$2 == 0 { print $3 }' "$work/C.$r" | sort -u | wc -l)" $per_rank \
        "rank $r's distinct samples of epoch 0"
done
# Together the ranks took every sample of epoch 0; the 5 taken twice are the padding.
expect_eq "$(cat "$work"/C.? | awk '$2 == 0' | wc -l)" $((per_rank * 8)) "samples of epoch 0 over the ranks"
expect_eq "$(cat "$work"/C.? | awk '$2 == 0 { print $3 }' | sort -u | wc -l)" $windows \
    "distinct samples of epoch 0 over the ranks"
expect_eq "$(cat "$work"/C.? | awk '$3 >= '$windows | wc -l)" 0 "samples out of range"
# Epoch 1 is another order over the same samples.
cmp -s <(awk '$2 == 0 { print $3 }' "$work/C.0") <(awk '$2 == 1 { print $3 }' "$work/C.0") &&
    fail "rank 0 took epoch 1 in epoch 0's order"
expect_eq "$(cat "$work"/C.? | awk '$2 == 1 { print $3 }' | sort -u | wc -l)" $windows \
    "distinct samples of epoch 1 over the ranks"

# A: the first $k steps (mid epoch 2), then a state saved; B resumes it with the service
# started at that epoch and consumed; B2 resumes it with the in-process engine.
k=20
out=$(train --data "$spec" "$python" "$work/train_tokens.py" --keep-short --steps $k \
    --ids "$work/A" --save-state "$work/state" 2>&1) || fail "training A failed: $out"
resume=$("$python" -c '
import json, sys
s = json.load(open(sys.argv[1]))["state"]
print(f"epoch={s['"'epoch'"']},consumed={s['"'consumed'"']}")' "$work/state.0") || fail "no state saved"
expect_eq "$resume" "epoch=2,consumed=$((4 * 16 * 8))" "the state saved at step $k"
for r in 1 2 3 4 5 6 7; do
    cmp -s <(sed 's/"ids": .*//' "$work/state.0") <(sed 's/"ids": .*//' "$work/state.$r") ||
        fail "rank $r saved another state than rank 0: $(cat "$work/state.$r")"
done
out=$(train --data "$spec,$resume" "$python" "$work/train_tokens.py" --keep-short --steps $steps \
    --resume "$work/state" --ids "$work/B" 2>&1) || fail "training B (resumed by the service) failed: $out"
out=$(train "$python" "$work/train_tokens.py" --data "path=$work/train.bin,seq_len=$seq_len,seed=1" \
    --batch 16 --keep-short --steps $steps --resume "$work/state" --ids "$work/B2" 2>&1) ||
    fail "training B2 (resumed by the in-process engine) failed: $out"
for r in 0 1 2 3 4 5 6 7; do
    cmp -s "$work/A.$r" <(awk '$1 < '$k "$work/C.$r") || fail "rank $r: A's first $k steps are not C's"
    cmp -s "$work/B.$r" <(awk '$1 >= '$k "$work/C.$r") ||
        fail "rank $r: the run resumed by the service does not continue C's order: $(diff "$work/B.$r" <(awk '$1 >= '$k "$work/C.$r") | head -5)"
    cmp -s "$work/B2.$r" <(awk '$1 >= '$k "$work/C.$r") ||
        fail "rank $r: the run resumed in-process does not continue C's order: $(diff "$work/B2.$r" <(awk '$1 >= '$k "$work/C.$r") | head -5)"
done
# The service refuses a state it was not started at, with the way out in the message.
out=$(run srun -N1 -n1 --mpi=pmix "$zenith_run" --data "$spec" "$python" "$work/train_tokens.py" \
    --keep-short --steps 2 --resume "$work/state" 2>&1) && fail "the service moved to a saved state: $out"
echo "$out" | grep -q "epoch=2,consumed=512" || fail "no hint to start zenith-run at the state: $out"

# A damaged file (not whole tokens) and a missing one fail every rank's Loader, naming it.
head -c 1001 "$work/train.bin" >"$work/damaged.bin"
chmod 644 "$work/damaged.bin"
for f in damaged.bin missing.bin; do
    out=$(run srun -N2 -n4 --mpi=pmix "$zenith_run" "$python" "$work/train_tokens.py" \
        --data "path=$work/$f,seq_len=$seq_len" --timeout 20 2>&1)
    rc=$?
    [ $rc -ne 0 ] || fail "training on $f succeeded: $out"
    [ $rc -ne 124 ] || fail "training on $f hung: $out"
    for r in 0 1 2 3; do
        echo "$out" | grep -q "^train_tokens: rank $r/4: zenith: .*$work/$f" ||
            fail "rank $r did not fail naming $f: $out"
    done
    echo "$out" | grep -q ' first-loss ' && fail "a rank trained on $f: $out"
done
# Under zenith-run --data the damage stops every rank before Python starts.
out=$(run srun -N2 -n2 --mpi=pmix "$zenith_run" --data "path=$work/damaged.bin,seq_len=$seq_len" \
    "$python" "$work/train_tokens.py" 2>&1) && fail "zenith-run --data accepted $work/damaged.bin: $out"
echo "$out" | grep -q "damaged.bin" || fail "no message naming the damaged file: $out"
echo "$out" | grep -q "^train_tokens:" && fail "the program started on the damaged file: $out"
echo "total: $((SECONDS - t0)) s"
