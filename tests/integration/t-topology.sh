#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every node has the cached topology Zenith's plugin reads, and slurm.conf describes each node's
# sockets, cores and threads as that file does (so Slurm's core c is the file's core c).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
nodes="$ZENITH_CLUSTER_DIR/nodes.d"
for n in zn1 zn2 zn3 zn4; do
    [ -s "$nodes/$n/topology.xml" ] || fail "$n has no topology.xml"
    "$plan" --xml "$nodes/$n/topology.xml" | grep -q "CPUs $(nproc)," || fail "$n does not have this machine's topology"
    expect_eq "$(scontrol show node "$n" | grep -o 'CPUTot=[0-9]*')" "CPUTot=$(nproc)" "CPUs Slurm sees on $n"
done
grep -q "^required .*/lib/zenith.so topology=$nodes/%n/topology.xml" "$ZENITH_CLUSTER_DIR/etc/plugstack.conf" ||
    fail "the cluster's plugstack.conf does not enable Zenith: $(cat "$ZENITH_CLUSTER_DIR/etc/plugstack.conf")"
