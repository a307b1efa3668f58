#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A batch job over two nodes runs a PMIx step and completes.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
cat >job.sh <<JOB
#!/bin/sh
#SBATCH -N2 --ntasks-per-node=1 -o job.out
srun --mpi=pmix $pmix_hello
JOB
id=$(sbatch_wait job.sh) || fail "batch job failed: $(cat job.out 2>/dev/null)"
cat job.out
expect_eq "$(grep -c 'heard from 2 ranks on 2 nodes' job.out)" 2 "ranks in the batch step"
state=$(scontrol show job "$id" | grep -o 'JobState=[A-Z]*')
expect_eq "$state" JobState=COMPLETED "job state"
