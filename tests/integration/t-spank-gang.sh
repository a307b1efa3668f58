#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --zenith-gang reaches slurmctld: the job's SPANK environment holds ZENITH_GANG, which
# PrologSlurmctld sees as SPANK_ZENITH_GANG (prolog-slurmctld.sh records it per job).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
seen="$ZENITH_CLUSTER_DIR/prolog-slurmctld"
gang_of() { # job id -> the SPANK_ZENITH_GANG slurmctld had, or "none"
    local deadline=$((SECONDS + 30))
    while [ ! -f "$seen/$1" ] && ((SECONDS < deadline)); do sleep 0.2; done
    [ -f "$seen/$1" ] || fail "PrologSlurmctld did not run for job $1"
    grep '^SPANK_ZENITH_GANG=' "$seen/$1" | cut -d= -f2 | grep . || echo none
}
id=$(sbatch_wait -N1 --zenith-gang=4 -o /dev/null --wrap true) || fail "sbatch --zenith-gang=4 failed"
expect_eq "$(gang_of "$id")" 4 "SPANK_ZENITH_GANG of sbatch --zenith-gang=4"
id=$(sbatch_wait -N1 --zenith-gang -o /dev/null --wrap true) || fail "sbatch --zenith-gang failed"
expect_eq "$(gang_of "$id")" job "SPANK_ZENITH_GANG of sbatch --zenith-gang"
id=$(ZENITH_GANG=2 sbatch_wait -N1 -o /dev/null --wrap true) || fail "ZENITH_GANG=2 sbatch failed"
expect_eq "$(gang_of "$id")" 2 "SPANK_ZENITH_GANG from ZENITH_GANG=2"
id=$(sbatch_wait -N1 -o /dev/null --wrap true) || fail "plain sbatch failed"
expect_eq "$(gang_of "$id")" none "SPANK_ZENITH_GANG of a job without --zenith-gang"

# Inside an allocation the request cannot change anything: srun says so and runs.
out=$(run salloc -N1 srun --zenith-gang=2 true 2>&1) || fail "srun --zenith-gang inside salloc failed: $out"
echo "$out" | grep -q "zenith: --zenith-gang is a request for the job's placement" ||
    fail "no notice for --zenith-gang inside an allocation: $out"
