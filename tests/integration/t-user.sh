#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An unprivileged user runs interactive, PMIx and batch jobs.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
user=zenith-test
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /bin/sh "$user" ||
    fail "cannot create user $user"
as_user() {
    run su "$user" -s /bin/sh -c "cd '$work' && SLURM_CONF='$SLURM_CONF' $*"
}
expect_eq "$(as_user srun -N2 id -un | sort -u)" "$user" "user of the tasks"
out=$(as_user srun -N2 -n2 --mpi=pmix "$pmix_hello") || fail "PMIx job as $user: $out"
expect_eq "$(echo "$out" | grep -c 'heard from 2 ranks on 2 nodes')" 2 "PMIx ranks as $user"
# Zenith pins the user's tasks (task_init runs as the user, after setuid).
if [ "$(nproc)" -ge 2 ]; then
    expect_eq "$(as_user srun -w zn2 -n2 --zenith-bind=core grep Cpus_allowed_list /proc/self/status | awk '{ print $2 }' | sort | tr '\n' ' ')" \
        "0 1 " "CPUs of $user's pinned tasks"
fi
printf '#!/bin/sh\nid -un\n' >"$work/user-job.sh"
id=$(as_user sbatch --parsable -N1 -o user-job.out user-job.sh) || fail "sbatch as $user"
wait_job "$id" || fail "batch job of $user"
expect_eq "$(cat "$work/user-job.out")" "$user" "batch job user"
