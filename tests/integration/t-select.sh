#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Zenith's slurmctld plugins in a real 8-node cluster (two leaf switches of four nodes, 8 GPUs
# per node): a gang job stays in one leaf where the same job without --zenith-gang spans two,
# a 2-GPU job is packed onto the node with 2 GPUs free, job_submit's checks and stamp, the gang
# factor in sprio; then without job_submit (a ZENITH_GANG nobody validated gets nothing), the
# factor's defaults (nothing without slurmdbd), then without any of the plugins (stock cons_tres
# again).
# shellcheck shell=bash
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
ctld_cluster select 300 zs
# 1000 per second of waiting: growth shows within a test.
export ZENITH_CLUSTER_CONF_EXTRA="DebugFlags=SelectType
SlurmctldDebug=verbose
PrioritySiteFactorParameters=gang_base=5000,gang_per_hour=3600000,gang_max=900000"

up() {
    "$cluster" down >/dev/null 2>&1
    "$cluster" up 8 >/dev/null || fail "the 8-node cluster did not start: $("$cluster" logs | tail -n 40)"
}

leaf_of() { # node list -> leaf1, leaf2 or "both"
    case "$1" in
    zs[1-4] | "zs[1-4]" | zs\[[1-4],[1-4]\] | zs\[[1-4]-[1-4]\]) echo leaf1 ;;
    zs[5-8] | zs\[[5-8],[5-8]\] | zs\[[5-8]-[5-8]\]) echo leaf2 ;;
    *) echo both ;;
    esac
}

half_busy() { # zs1 and zs6 with 4 of 8 GPUs in use; sets busy1 and busy6
    busy1=$(submit -w zs1 --gpus-per-node=4)
    busy6=$(submit -w zs6 --gpus-per-node=4)
    running "$busy1" >/dev/null
    running "$busy6" >/dev/null
}

site_of() { # pending job -> its SITE factor in sprio
    sprio -h -j "$1" -o "%S" | tr -d ' '
}

# ------------------------------------------------------------------ all three plugins
up
expect_eq "$(scontrol show config | sed -n 's/^SelectType *= *//p')" select/zenith_cons_tres "SelectType"
sinfo -h -o %D | grep -qx 8 || fail "sinfo (a client loading the select plugin) does not show 8 nodes"

# Some nodes busy: zs1 and zs6 have 4 of their 8 GPUs in use.
half_busy

gang=$(submit -N2 --gpus-per-node=4 --zenith-gang)
nodes=$(running "$gang")
expect_eq "$(field "$gang" AdminComment)" "zenith-gang:nodes=2,gpus-per-node=4" "job_submit's stamp"
expect_eq "$(leaf_of "$nodes")" leaf1 "leaf switch of the gang job on $nodes"
expect_eq "$nodes" "zs[1-2]" "nodes of the gang job (best fit inside the leaf: the half-used zs1 first)"
gone "$gang"
plain=$(submit -N2 --gpus-per-node=4)
nodes=$(running "$plain")
expect_eq "$nodes" "zs[1,6]" "nodes of the same job without --zenith-gang (packed onto the half-used nodes)"
expect_eq "$(leaf_of "$nodes")" both "leaf switches of the job without --zenith-gang"
gone "$plain"
grep -q "zenith: JobId=$gang gang 2x4 GPUs: leaf-switch leaf1 (zs1,zs2)" \
    "$ZENITH_CLUSTER_DIR/log/slurmctld.log" || fail "slurmctld did not log why it chose leaf1"

# Best-fit GPU packing: zs3 keeps 2 GPUs free; a 2-GPU job goes there, not to an idle node.
busy3=$(submit -w zs3 --gpus-per-node=6)
running "$busy3" >/dev/null
small=$(submit --gpus-per-node=2)
expect_eq "$(running "$small")" zs3 "node of a 2-GPU job"
gone "$small"

# job_submit refuses nonsense, with a message naming the option.
out=$(sbatch -N1 --gpus-per-node=2 --zenith-gang -o /dev/null --wrap true 2>&1) &&
    fail "a one-node gang job was accepted"
echo "$out" | grep -q "zenith: --zenith-gang packs a job of 2 or more nodes" || fail "message: $out"
out=$(sbatch -N2 --zenith-gang -o /dev/null --wrap true 2>&1) && fail "a gang job without GPUs was accepted"
echo "$out" | grep -q "asks for no GPU" || fail "message: $out"
out=$(sbatch -N2 --zenith-gang=3 --gpus-per-node=1 -o /dev/null --wrap true 2>&1) &&
    fail "a gang size other than the node count was accepted"
echo "$out" | grep -q "does not match the job's 2 nodes" || fail "message: $out"
# A ZENITH_GANG forged past Zenith's SPANK plugin (a user's own client config and plugin) with
# a newline: job_submit refuses it, and its log line stays one line, the value escaped.
mkdir -p "$work/forge"
cat >"$work/forge/forge.c" <<'FORGE'
#include <stdlib.h>
#include <slurm/spank.h>
SPANK_PLUGIN(forge, 1);
int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
    const char *gang = getenv("FORGED_GANG");
    if (spank_context() == S_CTX_ALLOCATOR && gang)
        spank_job_control_setenv(sp, "ZENITH_GANG", gang, 1);
    return 0;
}
FORGE
gcc -shared -fPIC -o "$work/forge/forge.so" "$work/forge/forge.c" || fail "cannot build the forging plugin"
echo "required $work/forge/forge.so" >"$work/forge/plugstack.conf"
sed "s|^PlugStackConfig=.*|PlugStackConfig=$work/forge/plugstack.conf|" "$SLURM_CONF" >"$work/forge/slurm.conf"
out=$(FORGED_GANG=$'2\nzenith: forged line' SLURM_CONF=$work/forge/slurm.conf \
    sbatch -N2 --gpus-per-node=1 -o /dev/null --wrap true 2>&1) && fail "a forged ZENITH_GANG with a newline was accepted"
echo "$out" | grep -qF 'zenith: --zenith-gang=2\nzenith: forged line is not a positive whole number' ||
    fail "message of a forged ZENITH_GANG: $out"
grep -q '^zenith: forged line' "$ZENITH_CLUSTER_DIR/log/slurmctld.log" &&
    fail "a forged ZENITH_GANG wrote a line of its own into slurmctld.log"
grep -qF 'zenith: --zenith-gang=2\nzenith: forged line is not a positive whole number (job from uid' \
    "$ZENITH_CLUSTER_DIR/log/slurmctld.log" || fail "slurmctld did not log the forged value escaped"
# A gang's shape is fixed once stamped.
pend=$(submit -N8 --gpus-per-node=8 --zenith-gang)
scontrol update jobid="$pend" NumNodes=4 2>/dev/null && fail "a gang job's node count changed"
expect_eq "$(field "$pend" NumNodes)" 8-8 "NumNodes of a gang job after an update was refused"
grep -q "zenith: JobId=$pend is a --zenith-gang job of 8 nodes x 8 GPUs; uid 0 may not change its node count" \
    "$ZENITH_CLUSTER_DIR/log/slurmctld.log" || fail "slurmctld did not log why the update was refused"

# The gang factor: job_submit's base at once, growing while the job waits.
other=$(submit -N8 --gpus-per-node=8)
sleep 1
site=$(site_of "$pend")
[ "$site" -ge 5000 ] || fail "sprio SITE of a pending gang job is '$site', wanted 5000 or more"
expect_eq "$(site_of "$other")" 0 "sprio SITE of the same job without --zenith-gang"
sleep 3
# Without slurmdbd priorities are recalculated on events such as an update of the job.
scontrol update jobid="$pend" Nice=0 || fail "scontrol update Nice=0"
later=$(site_of "$pend")
[ "$later" -ge $((site + 2000)) ] || fail "the gang factor did not grow while waiting: $site then $later"
gone "$pend" "$other" "$busy1" "$busy3" "$busy6"

# ------------------------------------------------------------------ no job_submit: no stamp
export ZENITH_CTLD_ENABLE="select site_factor"
up
half_busy
forged=$(submit -N2 --gpus-per-node=4 --zenith-gang)
nodes=$(running "$forged")
expect_eq "$(field "$forged" AdminComment)" "" "AdminComment without job_submit"
expect_eq "$nodes" "zs[1,6]" "nodes of a gang request nobody validated (treated as any other job)"
pend=$(submit -N8 --gpus-per-node=8 --zenith-gang)
sleep 1
expect_eq "$(site_of "$pend")" 0 "sprio SITE of a gang request nobody validated"
gone "$forged" "$pend" "$busy1" "$busy6"

# ------------------------------------------------------------------ the gang factor's defaults
# They follow the age factor, which slurmctld drops without slurmdbd (as here): a gang ranks as
# any other job of its age, and the log says how to change that.
export ZENITH_CTLD_ENABLE="select job_submit site_factor"
export ZENITH_CLUSTER_CONF_EXTRA="SlurmctldDebug=verbose
PriorityWeightAge=1000"
up
pend=$(submit -N8 --gpus-per-node=8 --zenith-gang)
expect_eq "$(field "$pend" AdminComment)" "zenith-gang:nodes=8,gpus-per-node=8" "stamp with the factor's defaults"
sleep 1
expect_eq "$(site_of "$pend")" 0 "sprio SITE of a gang job under the factor's defaults without slurmdbd"
grep -qF "zenith: site_factor/zenith gives gang jobs nothing: gang_base=0, gang_per_hour=0, gang_max=0 (the defaults follow PriorityWeightAge=1000, which slurmctld ignores without slurmdbd)" \
    "$ZENITH_CLUSTER_DIR/log/slurmctld.log" || fail "slurmctld did not log that the gang factor's defaults add nothing"
gone "$pend"

# ------------------------------------------------------------------ stock Slurm again
unset ZENITH_CTLD_PLUGINS ZENITH_CTLD_ENABLE
up
expect_eq "$(scontrol show config | sed -n 's/^SelectType *= *//p')" select/cons_tres "SelectType without the plugins"
busy3=$(submit -w zs3 --gpus-per-node=6)
running "$busy3" >/dev/null
small=$(submit --gpus-per-node=2)
nodes=$(running "$small")
[ "$nodes" != zs3 ] || fail "stock cons_tres packed the 2-GPU job onto zs3: is the plugin still active?"
echo "stock cons_tres put the 2-GPU job on $nodes (Zenith: zs3)"
gone "$small" "$busy3"
