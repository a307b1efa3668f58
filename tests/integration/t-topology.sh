#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every node has the cached topology Zenith's plugin will read: a real GPU server's XML where
# one was assigned (ZENITH_CLUSTER_XML, set by run.sh for zn1), this machine's elsewhere.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
nodes="$ZENITH_CLUSTER_DIR/nodes.d"
for n in zn1 zn2 zn3 zn4; do
    [ -s "$nodes/$n/topology.xml" ] || fail "$n has no topology.xml"
    "$plan" --xml "$nodes/$n/topology.xml" >/dev/null || fail "$n's topology does not load"
done
expect_eq "$("$plan" --xml "$nodes/zn1/topology.xml" --format json | grep -o '"gpus":\[[^]]*\]' | grep -o '"index"' | wc -l)" \
    8 "GPUs in zn1's assigned server topology"
"$plan" --xml "$nodes/zn2/topology.xml" | grep -q "CPUs $(nproc)," || fail "zn2 does not have this machine's topology"
