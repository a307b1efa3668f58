#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/trace-replay.sh end to end on a small slice of the Philly trace: both runs in a real
# 8-node cluster (stock cons_tres, then Zenith's plugins), every job recorded by slurmctld's
# jobcomp/filetxt and scored. The numbers themselves are the bench's to report; here every
# planned job must have run to completion under both, and under Zenith every multi-node job must
# have been placed as a gang by the select plugin.
# shellcheck shell=bash
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
if [ ! -r "$ZENITH_BUILDDIR/select/.libs/select_zenith_cons_tres.so" ]; then
    echo "skipped: the slurmctld plugins are not built (configure --with-slurm-source)"
    exit 77
fi
if [ ! -r "${ZENITH_SHARED_FIXTURES:-}/traces/philly/chronus_trace_job_Philly_MIX1.csv" ]; then
    echo "skipped: no ../shared fixtures"
    exit 77
fi
export ZENITH_BENCH_CLUSTER_DIR=${ZENITH_CLUSTER_DIR}-replay
export ZENITH_BENCH_CLUSTER_PORT=$((ZENITH_CLUSTER_PORT + 400))
# 30 trace seconds with five gangs of 2 and 4 nodes and a one-node job; times divided by 20.
out=$("$ZENITH_SRCDIR/bench/trace-replay.sh" --nodes 8 --leaf-size 4 --from 16060 --span 30 \
    --one-node-every 1 --time-scale 20 --keep "$work/replay" 2>&1) ||
    fail "trace-replay.sh failed: $out"
echo "$out"
jobs=$(grep -vc '^#' "$work/replay/plan")
multi=$(awk '!/^#/ && $3 > 1' "$work/replay/plan" | wc -l)
[ "$multi" -ge 2 ] || fail "the slice has $multi multi-node jobs; choose another window"
# The scorer has checked every record (each planned job once, completed, its node count, no
# node given more GPUs than it has); here the runs are the ones they claim to be.
echo "$out" | grep -q "^stock:  $jobs jobs; $multi multi-node" || fail "stock run: not $jobs jobs, $multi multi-node"
echo "$out" | grep -q "^zenith: $jobs jobs; $multi multi-node" || fail "zenith run: not $jobs jobs, $multi multi-node"
echo "$out" | grep -q "^zenith/stock: one-leaf share" || fail "no ratios"
echo "$out" | grep -q "^stock run: .* JobSubmitPlugins=(null) SelectType=select/cons_tres" ||
    fail "the stock run did not run stock Slurm"
echo "$out" | grep -q "^zenith run: .* JobSubmitPlugins=zenith SelectType=select/zenith_cons_tres" ||
    fail "the zenith run did not run Zenith's plugins"
# Under Zenith every multi-node job was a stamped gang placed by the select plugin; under stock
# nothing of Zenith's ran in slurmctld.
placed=$(grep -o "zenith: JobId=[0-9]* gang [0-9]*x[0-9]* GPUs: " "$work/replay/zenith-slurmctld.log" | sort -u | wc -l)
expect_eq "$placed" "$multi" "gangs placed by Zenith's select plugin in the zenith run"
! grep -q "zenith: JobId=" "$work/replay/stock-slurmctld.log" || fail "Zenith's plugin placed jobs in the stock run"
