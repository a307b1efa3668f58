#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# srun -N4 reaches four distinct nodes, each of which sees its own name.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
names=$(run srun -N4 hostname | sort | tr '\n' ' ') || fail "srun -N4 hostname failed"
expect_eq "$names" "zn1 zn2 zn3 zn4 " "node names"
