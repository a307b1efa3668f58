#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scancel ends a running multi-node step and leaves none of its tasks behind.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
marker="zenith-cancel-$$"
run srun -N2 --job-name="$marker" bash -c "exec -a $marker sleep 300" &
client=$!
for _ in $(seq 100); do
    [ "$(pgrep -c -f "^$marker")" -ge 2 ] && break
    sleep 0.1
done
expect_eq "$(pgrep -c -f "^$marker")" 2 "tasks running"
scancel --name="$marker"
wait "$client" 2>/dev/null
for _ in $(seq 100); do
    [ "$(pgrep -c -f "^$marker")" -eq 0 ] && break
    sleep 0.1
done
expect_eq "$(pgrep -c -f "^$marker")" 0 "tasks left after scancel"
