# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034 # variables here are used by the benches that source it
# Shared by the benches (sourced): the bench's own local cluster, started by bench_cluster_up
# NODES and stopped on exit, and a median. Needs root and a built tree.
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ZENITH_BUILDDIR:-$src/build}
cluster=$src/contrib/cluster/zenith-cluster
bench=$(basename "$0" .sh)

bench_need() { # FILE...: fail unless built
    [ "$(id -u)" -eq 0 ] || { echo "$bench: run as root (it starts a local cluster)" >&2; exit 1; }
    for f in "$@"; do
        [ -e "$f" ] || { echo "$bench: $f is not built (contrib/build.sh)" >&2; exit 1; }
    done
}

# Its own place and ports, so it never touches the demo's or the tests' cluster. NODES, then
# optional slurm.conf lines; ZENITH_BENCH_CLUSTER_XML gives the nodes a topology file. Sets
# SLURM_CONF, plugstack (the file srun and every slurmstepd read when a step starts, so
# rewriting it switches the plugin for the next step), and `with` (its line enabling Zenith).
bench_cluster_up() {
    export ZENITH_CLUSTER_DIR=${ZENITH_BENCH_CLUSTER_DIR:-/var/tmp/zenith-bench}
    export ZENITH_CLUSTER_PORT=${ZENITH_BENCH_CLUSTER_PORT:-18317}
    export ZENITH_CLUSTER_PREFIX=zb ZENITH_CLUSTER_NAME=zenith-bench
    export ZENITH_SPANK_PLUGIN=$build/spank/.libs/zenith.so ZENITH_PLAN=$build/tools/zenith-plan
    unset ZENITH_CLUSTER_XML ZENITH_PLUGSTACK ZENITH_SPANK_ARGS ZENITH_CLUSTER_CONF_EXTRA
    [ -z "${ZENITH_BENCH_CLUSTER_XML:-}" ] || export ZENITH_CLUSTER_XML=$ZENITH_BENCH_CLUSTER_XML
    [ -z "${2:-}" ] || export ZENITH_CLUSTER_CONF_EXTRA=$2
    "$cluster" down >/dev/null 2>&1 || true
    # bench_on_exit: the bench's own clean-up, run after the cluster is down.
    trap '"$cluster" down >/dev/null; eval "${bench_on_exit:-}"' EXIT
    "$cluster" up "$1" >/dev/null
    export SLURM_CONF=$ZENITH_CLUSTER_DIR/etc/slurm.conf
    plugstack=$ZENITH_CLUSTER_DIR/etc/plugstack.conf
    with=$(cat "$plugstack")
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
