#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The NCCL unique id (no GPU needed to make one): with GPUs in the step, rank 0's zenith-run
# creates it and every rank gets the same id through PMIx; its bootstrap root listens in rank
# 0's zenith-run while the program runs. A CPU-only step gets none. --preflight without a GPU
# on rank 0's node says "NCCL skipped" and starts the program; on nodes whose GPUs CUDA cannot
# use (this machine's stand-in GPUs) it stops the step at once instead of hanging.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ -z "${ZENITH_NCCL_MODULE:-}" ]; then
    # Built without NCCL: a GPU step says so, and still runs.
    out=$(run srun -N1 -n1 --gres=gpu:1 --mpi=pmix "$zenith_run" true 2>&1) || fail "GPU step without NCCL: $out"
    echo "$out" | grep -q "zenith-run was built without NCCL" || fail "no notice of the missing NCCL: $out"
    exit 0
fi

# The id holds NCCL's bootstrap handle: 8 bytes of magic, then a sockaddr (family, port in
# network order, IPv4 address). Rank 0 checks that something listens there.
out=$(run srun -N2 -n4 --gres=gpu:2 --mpi=pmix "$zenith_run" sh -c '
    echo "$RANK ${ZENITH_NCCL_UNIQUE_ID:-none}"
    if [ "$RANK" = 0 ]; then
        port=$(printf "%d" "0x$(echo "$ZENITH_NCCL_UNIQUE_ID" | cut -c21-24)")
        ss -ltn "sport = :$port" | grep -q LISTEN && echo "root listening on $port"
    fi' 2>&1) || fail "GPU step: $out"
ids=$(echo "$out" | grep '^[0-9] ' | cut -d' ' -f2 | sort -u)
expect_eq "$(echo "$out" | grep -c '^[0-9] ')" 4 "ranks"
expect_eq "$(echo "$ids" | wc -l)" 1 "distinct NCCL ids across ranks"
echo "$ids" | grep -qx '[0-9a-f]\{256\}' || fail "not a 128-byte NCCL id in hex: $ids"
echo "$out" | grep -q '^root listening on ' || fail "nothing listens where the id points: $out"

out=$(run srun -N2 -n2 --mpi=pmix "$zenith_run" sh -c 'echo "${ZENITH_NCCL_UNIQUE_ID:-none}"') || fail "CPU step: $out"
expect_eq "$(echo "$out" | sort -u)" none "NCCL id in a CPU-only step"

out=$(run srun -N2 -n2 --mpi=pmix "$zenith_run" --preflight sh -c 'echo started' 2>&1) || fail "--preflight in a CPU step: $out"
echo "$out" | grep -q "zenith: --preflight: no GPU on rank 0's node, NCCL skipped" || fail "no skip notice: $out"
expect_eq "$(echo "$out" | grep -c '^started$')" 2 "programs started after a skipped preflight"

start=$SECONDS
out=$(run srun -N2 -n2 --gres=gpu:1 --mpi=pmix "$zenith_run" --preflight touch "$work/started" 2>&1) &&
    fail "--preflight passed on GPUs CUDA cannot use: $out"
[ $((SECONDS - start)) -lt 30 ] || fail "--preflight took $((SECONDS - start)) s to fail"
[ ! -e "$work/started" ] || fail "the program started after a failed preflight"
echo "$out" | grep -q "zenith: --preflight: CUDA sees no usable GPU on zn[0-9]" || fail "no message naming the node: $out"
