#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Nodes have 8 typed GPUs that Slurm really allocates: two jobs on one node get disjoint ones.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
expect_eq "$(run srun -N1 --gres=gpu:h100:3 printenv SLURM_STEP_GPUS)" 0,1,2 "GPUs of a 3-GPU step"
gres=$(sinfo -h -N -n zn1 -o '%G')
expect_eq "$gres" "gpu:h100:8" "GPUs of zn1"
run srun -N1 -w zn1 --gres=gpu:5 sleep 30 &
holder=$!
for _ in $(seq 100); do
    [ "$(squeue -h -w zn1 -t R | wc -l)" -ge 1 ] && break
    sleep 0.1
done
second=$(run srun -N1 -w zn1 --gres=gpu:3 printenv SLURM_STEP_GPUS)
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
expect_eq "$second" 5,6,7 "GPUs left for a second job on zn1"
