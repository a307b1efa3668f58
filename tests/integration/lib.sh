# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034 # variables here are used by the tests that source it
# Helpers for the integration tests (sourced). The driver (run.sh) has the cluster up and
# SLURM_CONF exported; each test exits 0 on success, non-zero with a message otherwise.
set -u

plan="$ZENITH_BUILDDIR/tools/zenith-plan"
pmix_hello="$ZENITH_BUILDDIR/tests/integration/pmix_hello"
zenith_run="$ZENITH_BUILDDIR/launcher/zenith-run"
# The uninstalled NCCL module (built when configure found NCCL); srun passes it to the tasks.
[ -e "$ZENITH_BUILDDIR/launcher/.libs/zenith-run-nccl.so" ] &&
    export ZENITH_NCCL_MODULE="$ZENITH_BUILDDIR/launcher/.libs/zenith-run-nccl.so"
# Debian's PyTorch lives under /usr/bin/python3, whatever python3 comes first on PATH.
python=/usr/bin/python3
# Jobs run in a directory every user can write (the build tree may not be readable by them).
work=$(mktemp -d /tmp/zenith-it.XXXXXX)
chmod 1777 "$work"
cd "$work" || exit 1
# zenith-run's port claims: private to the test, so it can check they are released.
export ZENITH_PORT_DIR="$work/ports"
trap 'rm -rf "$work"' EXIT

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# Run a Slurm client command with a time limit, so a wedged cluster fails a test, never hangs it.
run() {
    timeout 120 "$@"
}

expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', wanted '$2'"
}

# Wait for a job to end (polling the controller every 0.2 s: sbatch --wait sleeps up to 10 s
# between its own checks); fails after 120 s.
wait_job() {
    local state deadline=$((SECONDS + 120))
    while ((SECONDS < deadline)); do
        state=$(scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*')
        case "$state" in
        JobState=PENDING | JobState=CONFIGURING | JobState=RUNNING | JobState=COMPLETING | "") ;;
        *) return 0 ;;
        esac
        sleep 0.2
    done
    echo "job $1 did not end within 120 s" >&2
    return 1
}

# Submit a batch script (sbatch arguments follow), wait for it to end, print its id.
sbatch_wait() {
    local id
    id=$(sbatch --parsable "$@") && wait_job "$id" && echo "$id"
}

# ------------------------------------------------------------------ slurmctld plugin tests
# A cluster of the test's own running Zenith's slurmctld plugins (t-select, t-gang-wait): NAME
# names its directory and cluster, OFFSET its port window, PREFIX its nodes. Skips when the
# plugins are not built. Sets cluster and exports SLURM_CONF; the cluster goes down on exit.
ctld_cluster() {
    plugins=$ZENITH_BUILDDIR/select/.libs
    if [ ! -r "$plugins/select_zenith_cons_tres.so" ]; then
        echo "skipped: the slurmctld plugins are not built (configure --with-slurm-source)"
        exit 77
    fi
    export ZENITH_CLUSTER_DIR=${ZENITH_CLUSTER_DIR}-$1
    export ZENITH_CLUSTER_PORT=$((ZENITH_CLUSTER_PORT + $2))
    export ZENITH_CLUSTER_PREFIX=$3 ZENITH_CLUSTER_NAME=zenith-$1
    export ZENITH_CTLD_PLUGINS=$plugins
    unset ZENITH_SPANK_ARGS
    cluster=$ZENITH_SRCDIR/contrib/cluster/zenith-cluster
    export SLURM_CONF=$ZENITH_CLUSTER_DIR/etc/slurm.conf
    "$cluster" down >/dev/null 2>&1
    trap '"$cluster" down >/dev/null; rm -rf "$work"' EXIT
}

field() { # job, field -> value from scontrol show job
    scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}

running() { # job [seconds, default 60] -> its node list once it runs
    local deadline=$((SECONDS + ${2:-60})) state
    while ((SECONDS < deadline)); do
        state=$(field "$1" JobState)
        [ "$state" = RUNNING ] && { field "$1" NodeList; return 0; }
        [ "$state" = PENDING ] || [ "$state" = CONFIGURING ] || break
        sleep 0.2
    done
    fail "job $1 is $(field "$1" JobState) ($(field "$1" Reason)) after ${2:-60} s, not running"
}

submit() { # sbatch arguments -> the id of a job that sleeps 600 s
    run sbatch --parsable -o /dev/null --ntasks-per-node=1 "$@" --wrap "sleep 600" || fail "sbatch $* failed"
}

gone() { # jobs: cancelled and ended
    scancel "$@"
    for id in "$@"; do wait_job "$id" >/dev/null; done
}
