#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# topology/tree is in force: --switches=1 keeps a 2-node job under one leaf switch.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
nodes=$(run srun -N2 --switches=1 hostname | sort | tr '\n' ' ')
case "$nodes" in
"zn1 zn2 " | "zn3 zn4 ") ;;
*) fail "a --switches=1 job spans leaf switches: $nodes" ;;
esac
scontrol show topology | grep -q 'SwitchName=leaf2' || fail "no leaf2 in the topology"
