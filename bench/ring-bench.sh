#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shared-memory ring (runtime/ring.h) against DPDK's rte_ring and Concurrency Kit's ck_ring,
# measured in the same run with the producer and the consumer pinned on two CPUs: SPSC bursts of
# 32, one item per call, and the round trip, for 8 and 64 byte items. Needs a tree built with
# libdpdk-dev and libck-dev installed (configure builds bench/ring-bench only then) and two CPUs
# nothing else is busy on: other load shows up directly in the figures. Arguments go to the
# program, for example:
#   bench/ring-bench.sh [--items N] [--rtts N] [--reps N] [--cpus P,C] [--only burst,single,rtt,extra]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${ZENITH_BUILDDIR:-$top/build}/bench/ring-bench

if [ ! -x "$bin" ]; then
    echo "zenith: $bin is not built: configure builds it only when pkg-config finds libdpdk and" \
        "ck (apt-get install libdpdk-dev libck-dev, then ZENITH_RECONFIGURE=1 contrib/build.sh)" >&2
    exit 1
fi
exec "$bin" "$@"
