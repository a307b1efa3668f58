#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make check's entry to the zenith.data tests: the configured Python (Debian's, with
# python3-torch) and the zenith package staged in the build tree.
set -eu
: "${ZENITH_BUILDDIR:?run through make check, or set ZENITH_BUILDDIR to the build tree}"
: "${ZENITH_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
python=${ZENITH_PYTHON:-/usr/bin/python3}
PYTHONPATH="$ZENITH_BUILDDIR/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH ZENITH_BUILDDIR
"$python" -c 'import numpy, torch' 2>/dev/null || {
    echo "zenith: $python cannot import numpy and torch; contrib/install-deps.sh installs python3-numpy and python3-torch" >&2
    exit 1
}
exec "$python" "$ZENITH_SRCDIR/tests/python/test_data.py" "$@"
