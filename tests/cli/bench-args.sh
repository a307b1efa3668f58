#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The benches' own options for the gang wait rule and NVLink blocks: placement-sim's
# --leaf-wait and --block-size, trace-replay.sh's --leaf-wait and sdiag-scale.sh's options
# refuse bad values by name, before anything starts.
set -u
top="${ZENITH_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
total_failed=0

cli="${ZENITH_BUILDDIR:-.}/bench/placement-sim"
check 0 "--leaf-wait S" "placement-sim --help names --leaf-wait" --help
check 0 "--block-size N" "placement-sim --help names --block-size" --help
check 2 "--leaf-wait=2m is not a number of seconds" "a wait with a unit" --leaf-wait 2m a b
check 2 "--leaf-wait=-1 is not a number of seconds" "a negative wait" --leaf-wait -1 a b
check 2 "--block-size=0 is out of range" "blocks of no node" --block-size 0 a b
finish || total_failed=1
passed=0 failed=0

cli="$top/bench/trace-replay.sh"
check 0 "--leaf-wait S" "trace-replay.sh --help names --leaf-wait" --help
check 2 "--leaf-wait takes whole seconds of the trace, not '1.5'" "a fractional wait" --leaf-wait 1.5
check 2 "--time-scale takes a whole number from 1, not '0'" "a scale of 0" --time-scale 0
check 2 "--pairs takes 1 to 5 pairs of runs, not '0'" "no pair of runs" --pairs 0
check 2 "--pairs takes 1 to 5 pairs of runs, not 'two'" "pairs in words" --pairs two
finish || total_failed=1
passed=0 failed=0

cli="$top/bench/sdiag-scale.sh"
check 0 "--window S" "sdiag-scale.sh --help" --help
check 2 "--nodes takes a whole number from 8 to 64, not '65'" "too many nodes" --nodes 65
check 2 "--jobs takes a whole number from 1 to 100000, not 'many'" "a job count in words" --jobs many
check 2 "--window takes a whole number from 10 to 3600, not ''" "a window without a value" --window
check 2 "unknown argument '--frob'" "an unknown argument" --frob
finish || total_failed=1
passed=0 failed=0
exit "$total_failed"
