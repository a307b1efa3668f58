#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real PyTorch DDP program (Debian's python3-torch, gloo, CPU) on 4 nodes x 2 ranks, started
# as srun zenith-run python3 ddp_train.py with no rendezvous code of its own: it trains a few
# steps and every rank agrees on the all-reduced result (and DDP kept the weights identical).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
"$python" -c 'import torch' 2>/dev/null ||
    fail "Debian's PyTorch is missing: $python cannot import torch (contrib/install-deps.sh installs python3-torch)"
cp "$ZENITH_SRCDIR/contrib/examples/ddp_train.py" "$work/"

out=$(run srun -N4 --ntasks-per-node=2 --mpi=pmix "$zenith_run" "$python" "$work/ddp_train.py" 2>&1) ||
    fail "DDP training failed: $out"
echo "$out"
lines=$(echo "$out" | grep '^rank ')
expect_eq "$(echo "$lines" | wc -l)" 8 "ranks that finished training"
expect_eq "$(echo "$lines" | awk '{ print $2 }' | sort -t/ -n | tr '\n' ' ')" "0/8 1/8 2/8 3/8 4/8 5/8 6/8 7/8 " "ranks and world size seen by torch.distributed"
expect_eq "$(echo "$lines" | sed 's/.* allreduce //' | sort -u | wc -l)" 1 "distinct all-reduced results"
# The all-reduce summed the rank numbers too: 0+...+7.
expect_eq "$(echo "$lines" | sed 's/.* ranks //' | sort -u)" 28 "sum of ranks all-reduced"
