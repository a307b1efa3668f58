#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One planner: where the SPANK plugin placed the tasks zenith-run leaves them (and says so);
# asked on its command line it places them itself, and the CPUs are the same. On a cluster
# without the plugin zenith-run alone pins every rank to the plan zenith-plan prints for the
# node, and --bind none leaves ranks where Slurm put them.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

show='echo "$(hostname) $LOCAL_RANK placed=${ZENITH_PLACED:-none} cpus=${ZENITH_CPUS:-none} allowed=$(awk "/Cpus_allowed_list/ { print \$2 }" /proc/self/status)"'
by_plugin=$(run srun -N2 -w zn[1-2] -n4 --mpi=pmix "$zenith_run" --verbose sh -c "$show" 2>"$work/err") ||
    fail "srun zenith-run failed: $(cat "$work/err")"
expect_eq "$(grep -c 'placed by the SPANK plugin' "$work/err")" 4 "ranks that say the plugin placed them"
by_run=$(run srun -N2 -w zn[1-2] -n4 --mpi=pmix "$zenith_run" --verbose --bind=auto sh -c "$show" 2>"$work/err") ||
    fail "srun zenith-run --bind=auto failed: $(cat "$work/err")"
expect_eq "$(grep -c 'placed by zenith-run' "$work/err")" 4 "ranks placed by zenith-run when asked"
strip() { sed 's/ placed=[^ ]*//' | sort; }
expect_eq "$(echo "$by_run" | strip)" "$(echo "$by_plugin" | strip)" "CPUs from zenith-run's plan and from the plugin's"
echo "$by_run" | grep -v 'placed=[0-9]*\.0 ' && fail "ZENITH_PLACED does not name the step"

# A second cluster without the plugin.
export ZENITH_CLUSTER_DIR=${ZENITH_CLUSTER_DIR}-noplugin
export ZENITH_CLUSTER_PORT=$((ZENITH_CLUSTER_PORT + 200))
export ZENITH_CLUSTER_PREFIX=zp ZENITH_CLUSTER_NAME=zenith-noplugin
export ZENITH_SPANK_PLUGIN=/nonexistent/zenith.so
unset ZENITH_CLUSTER_CONF_EXTRA ZENITH_SPANK_ARGS
cluster=$ZENITH_SRCDIR/contrib/cluster/zenith-cluster
"$cluster" down >/dev/null 2>&1
trap '"$cluster" down >/dev/null; rm -rf "$work"' EXIT
"$cluster" up 2 >/dev/null || fail "the cluster without the plugin did not start: $("$cluster" logs)"
export SLURM_CONF=$ZENITH_CLUSTER_DIR/etc/slurm.conf
grep -v "^#" "$ZENITH_CLUSTER_DIR/etc/plugstack.conf" | grep -q zenith.so && fail "the plugin is enabled"

out=$(run srun -N2 -n4 --mpi=pmix "$zenith_run" sh -c "$show") || fail "srun zenith-run without the plugin: $out"
for l in 0 1; do
    want=$("$plan" --tasks 2 --format env | awk -v t="# task $l" '$0 == t { on = 1; next } /^# task/ { on = 0 } on && /^ZENITH_CPUS=/ { sub(/ZENITH_CPUS=/, ""); print }')
    expect_eq "$(echo "$out" | awk -v l="$l" '$2 == l' | sed 's/.* cpus=\([^ ]*\) allowed=\([^ ]*\)/\1 \2/' | sort -u)" "$want $want" \
        "local rank $l: ZENITH_CPUS and Cpus_allowed_list against zenith-plan's plan"
done
all=$(awk '/Cpus_allowed_list/ { print $2 }' /proc/self/status)
out=$(run srun -N2 -n4 --mpi=pmix "$zenith_run" --bind=none sh -c "$show") || fail "--bind none: $out"
expect_eq "$(echo "$out" | grep -c "placed=none cpus=none allowed=$all$")" 4 "ranks left alone by --bind none"
