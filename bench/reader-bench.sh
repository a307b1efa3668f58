#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The data service's read path (zn_reader into a zn_arena) against a single-thread read() loop
# of the same file, warm and cold, in one run. Needs a built tree (bench/reader-bench) and room
# for the test file (1G by default, in /var/tmp). Arguments go to the program, for example:
#   bench/reader-bench.sh [--dir DIR] [--size SIZE] [--repetitions N] [--slots N] ...
# As root it also measures an arena on 2M huge pages, as a job's reservation gives the data
# service: it raises vm.nr_hugepages by what the arena needs (ZENITH_BENCH_HUGEPAGES pages,
# default 80, enough for 32 slots of 4M and the rings) and puts the old value back on exit.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
prog=${ZENITH_BUILDDIR:-$top/build}/bench/reader-bench
pages=${ZENITH_BENCH_HUGEPAGES:-80}
pool=/proc/sys/vm/nr_hugepages

if [ ! -x "$prog" ]; then
    echo "zenith: $prog is not built (make bench/reader-bench in the build directory)" >&2
    exit 1
fi
huge=()
if [ "$(id -u)" -eq 0 ] && [ -w "$pool" ]; then
    old=$(cat "$pool")
    trap 'echo "$old" >"$pool"' EXIT
    echo $((old + pages)) >"$pool"
    huge=(--hugepages 2M)
else
    echo "reader-bench: not root: base pages only (no huge page arena)"
fi
rc=0
"$prog" "${huge[@]}" "$@" || rc=$?
exit $rc
