#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# srun -N4 -n8 --mpi=pmix zenith-run: every rank gets a consistent env:// contract, the same
# MASTER_ADDR:MASTER_PORT (an address of this machine, a port claimed while the step runs and
# released after), and an MPI-style PMIx program started by zenith-run still works.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

out=$(run srun -N4 -n8 --mpi=pmix "$zenith_run" sh -c \
    'echo "R=$RANK W=$WORLD_SIZE L=$LOCAL_RANK LW=$LOCAL_WORLD_SIZE N=$NODE_RANK G=$GROUP_RANK GW=$GROUP_WORLD_SIZE M=$MASTER_ADDR:$MASTER_PORT B=$ZENITH_BOOTSTRAP H=$(hostname)"; if [ "$RANK" = 0 ]; then ls "$ZENITH_PORT_DIR" >"$ZENITH_PORT_DIR.seen"; fi') ||
    fail "srun zenith-run failed: $out"
field() { echo "$out" | sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p"; }
expect_eq "$(echo "$out" | wc -l)" 8 "ranks that ran"
expect_eq "$(field R | sort -n | tr '\n' ' ')" "0 1 2 3 4 5 6 7 " "RANKs"
expect_eq "$(field W | sort -u)" 8 "WORLD_SIZE"
expect_eq "$(field LW | sort -u)" 2 "LOCAL_WORLD_SIZE"
expect_eq "$(field GW | sort -u)" 4 "GROUP_WORLD_SIZE"
expect_eq "$(field B | sort -u)" pmix "bootstrap"
# Block distribution: node i (zn<i+1>) holds ranks 2i and 2i+1, local ranks 0 and 1.
while read -r line; do
    r=${line#R=}; r=${r%% *}
    l=$(echo "$line" | sed 's/.* L=\([0-9]*\).*/\1/')
    n=$(echo "$line" | sed 's/.* N=\([0-9]*\).*/\1/')
    g=$(echo "$line" | sed 's/.* G=\([0-9]*\).*/\1/')
    h=$(echo "$line" | sed 's/.* H=\([^ ]*\).*/\1/')
    expect_eq "$n" "$g" "rank $r: NODE_RANK and GROUP_RANK"
    expect_eq "$h" "zn$((n + 1))" "rank $r: NODE_RANK $n on host"
    expect_eq "$r" "$((2 * n + l))" "rank $r: RANK from NODE_RANK $n and LOCAL_RANK $l"
done <<<"$out"
master=$(field M | sort -u)
expect_eq "$(echo "$master" | wc -l)" 1 "one MASTER_ADDR:MASTER_PORT for all ranks ($(field M | tr '\n' ' '))"
addr=${master%:*} port=${master#*:}
ip -4 -o addr show | grep -q "inet $addr/" || fail "MASTER_ADDR $addr is not an address of this machine"
[ "$port" -ge 29500 ] && [ "$port" -le 30499 ] || fail "MASTER_PORT $port is outside the default range"
# Rank 0's claim on MASTER_PORT existed while its program ran and is gone now.
# (claims are PORT.UID.PID: see zenith-run(1), PORT CLAIMS)
expect_eq "$(grep '^[0-9]' "$ZENITH_PORT_DIR.seen" | cut -d. -f1)" "$port" "port claimed while rank 0 ran"
expect_eq "$(ls "$ZENITH_PORT_DIR" | grep -c '^[0-9]')" 0 "port claims left after the step"

# A PMIx program under zenith-run: zenith-run left PMIx before starting it.
out=$(run srun -N2 -n4 --mpi=pmix "$zenith_run" "$pmix_hello") || fail "pmix_hello under zenith-run: $out"
expect_eq "$(echo "$out" | grep -c 'heard from 4 ranks on 2 nodes')" 4 "pmix_hello ranks under zenith-run"
