#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Stands in for tests/unit/test_ring_tsan where configure found no working ThreadSanitizer.
echo "SKIP: the ring tests under ThreadSanitizer: configure found -fsanitize=thread unusable" \
    "(see 'whether ThreadSanitizer works' in config.log; on Debian install libtsan2 for gcc 12)"
exit 77
