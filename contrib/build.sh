#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configures and builds Zenith out of tree in build/ (extra arguments go to ./configure). The
# slurmctld plugins need the source of the exact installed Slurm: fetched and configured once by
# contrib/slurm-source.sh (ZENITH_SLURM_SOURCE=DIR uses a tree you have, =no builds without
# those plugins).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p build
cd build
if [ ! -f Makefile ] || [ "${ZENITH_RECONFIGURE:-0}" = 1 ]; then
    slurm_source=${ZENITH_SLURM_SOURCE:-}
    case " $* " in *" --with-slurm-source"*) slurm_source=no ;; esac
    if [ -z "$slurm_source" ] && command -v slurmctld >/dev/null; then
        slurm_source=$("$top/contrib/slurm-source.sh") || {
            echo "zenith: cannot fetch Slurm's source for the slurmctld plugins;" \
                "ZENITH_SLURM_SOURCE=no contrib/build.sh builds without them" >&2
            exit 1
        }
    fi
    [ -n "$slurm_source" ] && [ "$slurm_source" != no ] && set -- "--with-slurm-source=$slurm_source" "$@"
    ../configure --enable-werror "$@" >configure.out || {
        cat configure.out config.log >&2
        exit 1
    }
    sed -n '/^zenith .* configuration/,$p' configure.out
fi
make -j"$(nproc)" >/dev/null
