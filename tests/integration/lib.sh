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
