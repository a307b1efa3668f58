#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The task/cgroup variant of the cluster (its own 2-node cluster beside the main one): the
# devices cgroup really denies a fake GPU the step was not given.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
cluster="$ZENITH_SRCDIR/contrib/cluster/zenith-cluster"
export ZENITH_CLUSTER_DIR="$ZENITH_CLUSTER_DIR-cgroup" ZENITH_CLUSTER_PORT=$((ZENITH_CLUSTER_PORT + 100))
export ZENITH_CLUSTER_NAME=zenith-cgroup ZENITH_CLUSTER_TASK=cgroup
trap '"$cluster" down >/dev/null; rm -rf "$work"' EXIT
"$cluster" up 2 || fail "the cgroup cluster did not start"
eval "$("$cluster" env)"
dev="$ZENITH_CLUSTER_DIR/dev"
out=$(run srun -N2 --gres=gpu:2 sh -c "cat $dev/nvidia1 2>&1; cat $dev/nvidia5 2>&1" | sort | uniq -c)
echo "$out"
echo "$out" | grep -q '2 .*nvidia1: No such device or address' || fail "an allocated GPU is not reachable"
echo "$out" | grep -q '2 .*nvidia5: Operation not permitted' || fail "an unallocated GPU is not denied"
