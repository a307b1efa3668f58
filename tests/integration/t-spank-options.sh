#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Zenith's options are in sbatch/srun/salloc --help, and bad values are refused at submit time
# with a message naming the option (or variable) and the value; nothing is submitted.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
for cmd in srun sbatch salloc; do
    help=$($cmd --help 2>&1)
    for opt in zenith-gang zenith-bind zenith-mem zenith-hugepages; do
        echo "$help" | grep -q -- "--$opt" || fail "$cmd --help does not show --$opt"
    done
done

jobs_before=$(squeue -h -t all | wc -l)
refused() { # expected-message command...
    local want=$1 out
    shift
    if out=$(run "$@" 2>&1); then fail "accepted: $*"; fi
    echo "$out" | grep -qF -- "$want" || fail "'$*' said '$out', not '$want'"
}
refused "zenith: --zenith-bind=close is not a bind mode" srun --zenith-bind=close true
refused "zenith: --zenith-bind: 'loud' is not a flag" srun --zenith-bind=gpu,loud true
refused "zenith: --zenith-mem=near is not a memory policy" sbatch --zenith-mem=near --wrap true
refused "--zenith-hugepages" salloc --zenith-hugepages=8X true
refused "--zenith-gang" sbatch --zenith-gang=0 --wrap true
refused "zenith: ZENITH_BIND=bogus is not a bind mode" env ZENITH_BIND=bogus srun true
refused "zenith: ZENITH_MEM=near is not a memory policy" env ZENITH_MEM=near sbatch --wrap true
refused "--zenith-hugepages=1G is more than this site allows per node (64M" srun --zenith-hugepages=1G true
refused "more than this site allows" env ZENITH_HUGEPAGES=128M sbatch --wrap true
expect_eq "$(squeue -h -t all | wc -l)" "$jobs_before" "jobs after refused submissions"

# The command line wins over the environment.
out=$(ZENITH_BIND=bogus run srun --zenith-bind=none true 2>&1) || fail "--zenith-bind did not win over ZENITH_BIND: $out"
