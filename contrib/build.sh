#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configures and builds Zenith out of tree in build/ (extra arguments go to ./configure).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p build
cd build
if [ ! -f Makefile ] || [ "${ZENITH_RECONFIGURE:-0}" = 1 ]; then
    ../configure --enable-werror "$@" >configure.out || {
        cat configure.out config.log >&2
        exit 1
    }
    sed -n '/^zenith .* configuration/,$p' configure.out
fi
make -j"$(nproc)" >/dev/null
