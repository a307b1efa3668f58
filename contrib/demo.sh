#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's first command: install what is needed, build, and show what Zenith does.
# Today the demo is the placement planner on this machine and on a real 8-GPU server; it
# grows into a multi-node Slurm job as the cluster, SPANK plugin and launcher land.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/install-deps.sh"
"$top/contrib/build.sh"
plan="$top/build/tools/zenith-plan"

echo
echo "== This machine, as Zenith sees it"
"$plan"
echo
echo "== The plan for one task per CPU core here"
"$plan" --tasks "$("$plan" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cores"])')"

server="$top/../shared/fixtures/topology/aws-g4dn.metal_2xXeon8259CL_8xT4_EFA_hwloc2.8.xml"
[ -r "$server" ] || server="$top/tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"
echo
echo "== A GPU server ($(basename "$server"))"
"$plan" --xml "$server"
echo
echo "== 8 ranks, one per GPU, with 16G of huge pages for the node"
"$plan" --xml "$server" --node gpu-node --tasks 8 --gpus 0-7 --hugepages 16G
echo
echo "== Task 0's environment"
"$plan" --xml "$server" --tasks 8 --gpus 0-7 --format env | sed -n '2,/^# task 1/p' | sed '$d'
