#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# slurmstepd never hands hwloc a topology cache Zenith did not write: every node's cache is
# sealed; a damaged one (a byte that crashes hwloc 2.9's loader), an unsealed copy or a
# group-writable file on one node is refused before hwloc reads it (the step fails when the
# user asked for Zenith, runs as Slurm placed it otherwise, the reason in slurmd's log), slurmd
# stays up, and the next step after a repair is placed again.
# shellcheck source=tests/integration/lib.sh disable=SC2016 # the tasks expand their own variables
. "$(dirname "$0")/lib.sh"
nodes="$ZENITH_CLUSTER_DIR/nodes.d"
cache="$nodes/zn2/topology.xml"
fix="rewrite it on this node with 'zenith-plan --write-xml $cache'"
for n in zn1 zn2 zn3 zn4; do
    tail -n1 "$nodes/$n/topology.xml" |
        grep -Eq '^<!-- zenith-topology-cache v1 bytes=[0-9]+ fnv1a64=[0-9a-f]{16} -->$' ||
        fail "$n's topology cache is not sealed: $(tail -n1 "$nodes/$n/topology.xml")"
done

good="$work/zn2-good.xml"
cp -p "$cache" "$good"
# Whatever happens, zn2 gets its cache back for the tests that follow.
trap 'cp -p "$good" "$cache"; rm -rf "$work"' EXIT
slurmd_pid=$(cat "$nodes/zn2/slurmd.pid")

# A strict step (--zenith-bind asked for) fails with the reason; a default one runs as Slurm
# placed it and slurmd's log says why. $1: what the damage is; $2: the words of the refusal.
expect_refused() {
    local out
    out=$(run srun -w zn2 -n1 --zenith-bind=core true 2>&1) &&
        fail "$1: a --zenith-bind step ran on a refused cache: $out"
    echo "$out" | grep -qF "zenith: topology cache $cache $2" ||
        fail "$1: the step's error does not say '$2': $out"
    echo "$out" | grep -qF "$fix" || fail "$1: the step's error does not say how to fix it: $out"
    out=$(run srun -w zn2 -n1 sh -c 'echo "ran ${ZENITH_BIND_MODE:-unplaced}"' 2>&1) ||
        fail "$1: a default step did not run: $out"
    echo "$out" | grep -qx "ran unplaced" || fail "$1: the default step was placed: $out"
    grep -F "zenith: topology cache $cache $2" "$nodes/zn2/slurmd.log" | grep -qF "tasks run as Slurm placed them" ||
        fail "$1: slurmd's log does not say why: $(tail -n5 "$nodes/zn2/slurmd.log")"
    kill -0 "$slurmd_pid" 2>/dev/null || fail "$1: slurmd on zn2 died"
}

# One byte: the Machine object's complete_nodeset renamed, the seal left as it was.
sed '0,/complete_nodeset=/s//complete_noZeset=/' "$good" >"$work/damaged.xml"
cmp -s "$good" "$work/damaged.xml" && fail "the damage changed nothing"
"$plan" --xml "$work/damaged.xml" >/dev/null 2>&1
rc=$?
# hwloc's own loader (zenith-plan --xml reads any XML as it is) shows what it would have done.
[ "$rc" -ge 128 ] && echo "the damaged file crashes hwloc (exit $rc) when loaded unchecked"
install -m 644 "$work/damaged.xml" "$cache"
expect_refused "one byte changed" "does not match its seal's checksum"

# A plain hwloc XML, copied in place of the cache.
head -n -1 "$good" >"$work/plain.xml"
install -m 644 "$work/plain.xml" "$cache"
expect_refused "an unsealed copy" "has no Zenith seal"

# A good cache anyone in its group could have rewritten.
install -m 664 "$good" "$cache"
expect_refused "a group-writable cache" "is writable by users other than its owner (mode 0664)"

# Repaired (as the message says), the next step on the node is placed again, by the same slurmd.
"$plan" --xml "$good" --write-xml "$cache" || fail "could not reseal zn2's cache"
out=$(run srun -w zn2 -n1 --zenith-bind=core sh -c 'echo "ran $ZENITH_BIND_MODE"' 2>&1) ||
    fail "a step on the repaired node failed: $out"
echo "$out" | grep -qx "ran core" || fail "the step on the repaired node was not placed: $out"
expect_eq "$(cat "$nodes/zn2/slurmd.pid")" "$slurmd_pid" "zn2's slurmd after the refusals"
kill -0 "$slurmd_pid" 2>/dev/null || fail "slurmd on zn2 died"
scontrol show node zn2 | grep -Eq 'State=[A-Z]*(DOWN|NOT_RESPONDING|DRAIN)' &&
    fail "zn2 is not healthy: $(scontrol show node zn2 | grep State=)"
exit 0
