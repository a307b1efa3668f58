#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith-cluster's command line: help, and clear refusals of bad input (no cluster is started).
set -u
cluster="${ZENITH_SRCDIR:-.}/contrib/cluster/zenith-cluster"
export ZENITH_CLUSTER_DIR="${TMPDIR:-/tmp}/zenith-cluster-cli-$$"
passed=0
failed=0
check() {
    want_rc=$1 needle=$2 what=$3
    shift 3
    out=$("$cluster" "$@" 2>&1)
    rc=$?
    if [ "$rc" -eq "$want_rc" ] && printf '%s' "$out" | grep -qF -- "$needle"; then
        passed=$((passed + 1)); echo "ok - $what"
    else
        failed=$((failed + 1)); echo "not ok - $what (exit $rc): $out"
    fi
}
check 0 "zenith-cluster up [N]" "--help" --help
check 2 "zenith-cluster down" "unknown command shows usage" frobnicate
check 1 "up takes a node count from 1 to 64, not 'abc'" "non-numeric node count" up abc
check 1 "not '0'" "zero nodes" up 0
check 1 "not '65'" "too many nodes" up 65
check 0 "export SLURM_CONF=$ZENITH_CLUSTER_DIR/etc/slurm.conf" "env" env
check 1 "not running" "status of a cluster that is not up" status
rm -rf "$ZENITH_CLUSTER_DIR"
echo "zenith-cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
