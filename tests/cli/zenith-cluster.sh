#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith-cluster's command line: help, and clear refusals of bad input (no cluster is started).
set -u
cli="${ZENITH_SRCDIR:-.}/contrib/cluster/zenith-cluster"
export ZENITH_CLUSTER_DIR="${TMPDIR:-/tmp}/zenith-cluster-cli-$$"
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
check 0 "zenith-cluster up [N]" "--help" --help
check 2 "zenith-cluster down" "unknown command shows usage" frobnicate
check 1 "up takes a node count from 1 to 64, not 'abc'" "non-numeric node count" up abc
check 1 "not '0'" "zero nodes" up 0
check 1 "not '65'" "too many nodes" up 65
export ZENITH_CLUSTER_LEAF_SIZE=0
check 1 "ZENITH_CLUSTER_LEAF_SIZE takes a node count of 1 or more, not '0'" "leaves of no node" up 4
ZENITH_CLUSTER_LEAF_SIZE=four
check 1 "not 'four'" "a leaf size that is no number" up 4
unset ZENITH_CLUSTER_LEAF_SIZE
check 0 "export SLURM_CONF=$ZENITH_CLUSTER_DIR/etc/slurm.conf" "env" env
check 1 "not running" "status of a cluster that is not up" status
rm -rf "$ZENITH_CLUSTER_DIR"
finish
