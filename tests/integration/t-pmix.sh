#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real PMIx program over 2 nodes x 2 ranks: every rank reads every other rank's data.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
out=$(run srun -N2 -n4 --mpi=pmix "$pmix_hello") || fail "srun --mpi=pmix failed: $out"
echo "$out"
expect_eq "$(echo "$out" | grep -c 'heard from 4 ranks on 2 nodes')" 4 "ranks that heard from all"
expect_eq "$(echo "$out" | sed -n 's/^rank \([0-9]\) of 4 on \(zn[0-9]\) .*/\1/p' | sort | tr -d '\n')" \
    0123 "rank numbers"
expect_eq "$(echo "$out" | awk '{ print $6 }' | sort -u | wc -l)" 2 "distinct nodes"

# Without PMIx the program says so and fails, rather than hanging.
if out=$(run srun -N1 --mpi=none "$pmix_hello" 2>&1); then fail "ran without PMIx: $out"; fi
echo "$out" | grep -q "run it with srun --mpi=pmix" || fail "no clear message without PMIx: $out"
