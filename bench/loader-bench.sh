#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith.data's Loader against PyTorch's DataLoader (and nanoGPT's get_batch) on the same files,
# order and bytes, warm, cold and with a training step, in one run (see loader-bench.py). Needs
# a built tree (the zenith.data module in BUILDDIR/python), Debian's /usr/bin/python3 with numpy
# and torch, and about 4G in /var/tmp (--dir), deleted at the end unless --keep. Arguments go to
# the program, for example:
#   bench/loader-bench.sh [--quick] [--repeat N] [--step-ms MS] [--only tokens] [--keep] ...
# Exit status: 0 all targets met, 1 a target missed, 2 an error.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZENITH_BUILDDIR:-$top/build}

if [ ! -e "$build/python/zenith/_data.so" ]; then
    echo "zenith: $build/python/zenith/_data.so is not built (make in the build directory)" >&2
    exit 2
fi
export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
rc=0
/usr/bin/python3 "$top/bench/loader-bench.py" "$@" || rc=$?
exit $rc
