#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two DDP jobs started at once on the same nodes get different MASTER_PORTs and both succeed,
# even when their port range has only two ports: rank 0 claims the port it verified free.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
cp "$ZENITH_SRCDIR/contrib/examples/ddp_train.py" "$work/"
export ZENITH_PORT_RANGE=29900-29901 STEPS=2

for j in a b; do
    run srun -N2 -w zn[1-2] --ntasks-per-node=1 --mpi=pmix "$zenith_run" --verbose \
        "$python" "$work/ddp_train.py" >"$work/$j.out" 2>&1 &
done
wait -n || fail "a job failed: $(cat "$work"/*.out)"
wait -n || fail "a job failed: $(cat "$work"/*.out)"
port() { sed -n 's/^zenith: rank 0 .*MASTER_PORT \([0-9]*\) .*/\1/p' "$work/$1.out"; }
pa=$(port a) pb=$(port b)
[ -n "$pa" ] && [ -n "$pb" ] || fail "no port reported: $(cat "$work"/*.out)"
[ "$pa" != "$pb" ] || fail "both jobs got MASTER_PORT $pa"
for j in a b; do
    expect_eq "$(grep -c '^rank [01]/2 .* ranks 1$' "$work/$j.out")" 2 "job $j's ranks that finished"
done
