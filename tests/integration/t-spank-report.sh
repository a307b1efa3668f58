#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Report mode on real GPU servers' topologies: a second cluster whose nodes have the 8-GPU
# server's hwloc XML and the plugin in report_only mode. The verbose report of
# srun -N2 --ntasks-per-node=4 --gres=gpu:4 is the planner's golden plan for that shape on
# every node, and the tasks are left alone.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
src=$ZENITH_SRCDIR
fixture=zenith-2s4n-8xH100-4xCX7-smt2
golden="$src/tests/golden/expected/$fixture/half-gpus-whole-node.txt"
cluster=$src/contrib/cluster/zenith-cluster

export ZENITH_CLUSTER_DIR=${ZENITH_CLUSTER_DIR}-report
export ZENITH_CLUSTER_PORT=$((ZENITH_CLUSTER_PORT + 100))
export ZENITH_CLUSTER_PREFIX=zr ZENITH_CLUSTER_NAME=zenith-report
export ZENITH_CLUSTER_XML="$src/tests/fixtures/$fixture.xml"
export ZENITH_SPANK_ARGS="report_only"
unset ZENITH_CLUSTER_CONF_EXTRA
"$cluster" down >/dev/null 2>&1
trap '"$cluster" down >/dev/null; rm -rf "$work"' EXIT
"$cluster" up 2 >/dev/null || fail "the report cluster did not start: $("$cluster" logs)"
export SLURM_CONF=$ZENITH_CLUSTER_DIR/etc/slurm.conf

# 4 tasks x 16 CPUs: the whole node's cores, and 4 of its 8 GPUs (0-3).
out=$(run srun -N2 --ntasks-per-node=4 -c16 --gres=gpu:4 --zenith-bind=,verbose \
    sh -c 'echo "task $SLURM_PROCID cpus $(awk "/Cpus_allowed_list/ { print \$2 }" /proc/self/status) zenith_cpus ${ZENITH_CPUS:-unset}"' 2>&1) ||
    fail "srun in the report cluster failed: $out"
# The golden file's plan: its header line without the node, and the task rows.
want=$(sed -n '2,/^# environment/p' "$golden" | grep -v '^#')
for node in zr1 zr2; do
    # Each node writes its report in one piece: the header and the lines after it.
    got=$(echo "$out" | grep -A "$(($(echo "$want" | wc -l) - 1))" "^zenith plan for $node:" |
        sed "s/^zenith plan for $node:/zenith plan:/")
    expect_eq "$got" "$want" "binding report of $node (golden $fixture/half-gpus-whole-node.txt)"
    echo "$out" | grep -q "zenith: $node: report_only: nothing applied" || fail "$node's report does not say report_only"
done
# report_only changes nothing in the tasks.
all=$(awk '/Cpus_allowed_list/ { print $2 }' /proc/self/status)
expect_eq "$(echo "$out" | grep -c "^task [0-7] cpus $all zenith_cpus unset$")" 8 "tasks left alone in report mode"
