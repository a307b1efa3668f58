#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# On this machine's own topology each task's CPU mask and memory policy are what the planner
# says; bind=none and an explicit srun --cpu-bind leave tasks alone.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || { echo "skipped: needs 2 CPUs"; exit 0; }
xml="$ZENITH_CLUSTER_DIR/nodes.d/zn2/topology.xml"
all=$(grep Cpus_allowed_list /proc/self/status | awk '{ print $2 }')
# The task's CPUs and policy as the kernel reports them: "task cpus policy".
probe='echo "$SLURM_LOCALID $(awk "/Cpus_allowed_list/ { print \$2 }" /proc/self/status) $(head -1 /proc/self/numa_maps | cut -d" " -f2)"'

# Planner's word for a step of 2 tasks on the cores Slurm gives them (cores 0-1 = CPUs 0-1).
want=$("$plan" --xml "$xml" --tasks 2 --cpus 0-1 --bind core --format env |
    awk -F= '/^# task/ { t = $0; sub(/# task /, "", t) } /^ZENITH_CPUS=/ { print t, $2, "prefer:0" }')
got=$(run srun -w zn2 -n2 --zenith-bind=core sh -c "$probe" | sort)
expect_eq "$got" "$want" "tasks' CPUs and memory policy with --zenith-bind=core"

# The site default (bind=auto) binds too, without any option.
expect_eq "$(run srun -w zn2 -n2 sh -c "$probe" | sort)" "$want" "default binding"

for policy in interleave bind; do
    got=$(run srun -w zn2 -n2 --zenith-mem=$policy sh -c "$probe" | sort | awk '{ print $3 }' | sort -u)
    expect_eq "$got" "$policy:0" "memory policy with --zenith-mem=$policy"
done

expect_eq "$(run srun -w zn2 -n2 --zenith-bind=none sh -c "$probe" | sort)" \
    "$(printf '0 %s default\n1 %s default' "$all" "$all")" "tasks with --zenith-bind=none"

# An explicit srun --cpu-bind wins over the site default, and the report says so ...
out=$(run srun -w zn2 -n2 --cpu-bind=none --zenith-bind=,verbose sh -c "$probe" 2>&1)
echo "$out" | grep -q "srun --cpu-bind wins" || fail "verbose report does not say --cpu-bind won: $out"
expect_eq "$(echo "$out" | grep -E '^[0-9]+ [^ ]+ [a-z]' | sort)" \
    "$(printf '0 %s default\n1 %s default' "$all" "$all")" "tasks with srun --cpu-bind=none"
# ... but not over an explicit --zenith-bind.
expect_eq "$(run srun -w zn2 -n2 --cpu-bind=none --zenith-bind=core sh -c "$probe" | sort)" "$want" \
    "--zenith-bind=core over --cpu-bind=none"

# The task environment carries the plan; the user's own OMP_NUM_THREADS is kept;
# NCCL_IGNORE_CPU_AFFINITY stays unset so NCCL's threads keep to the task's binding. The resolved
# mode is ZENITH_BIND_MODE: ZENITH_BIND is a request, which zenith-run inside would obey.
env_out=$(unset NCCL_IGNORE_CPU_AFFINITY; OMP_NUM_THREADS=7 run srun -w zn2 -n2 --zenith-bind=core sh -c 'echo "$SLURM_LOCALID $ZENITH_CPUS $OMP_NUM_THREADS ${NCCL_IGNORE_CPU_AFFINITY-unset} $ZENITH_BIND_MODE ${ZENITH_BIND:-unset}"' | sort)
expect_eq "$env_out" "$(echo "$want" | awk '{ print $1, $2, 7, "unset", "core", "unset" }')" "task environment"

# Steps inside a batch job are placed like any other (the script itself is left alone).
printf '#!/bin/sh\nsrun -n2 sh -c %s\n' "'$probe'" >"$work/bind-job.sh"
id=$(sbatch_wait -w zn2 -n2 -o "$work/bind-job.out" "$work/bind-job.sh") || fail "batch job failed: $(cat "$work/bind-job.out")"
expect_eq "$(grep -E '^[0-9]+ ' "$work/bind-job.out" | sort)" "$want" "tasks of a step inside a batch job"
