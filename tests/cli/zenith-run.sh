#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith-run's command line outside Slurm: help, version, refused options and environment (exit
# 2, naming the value), the program's exit status or 128+signal, a missing program (127), and
# the env:// contract of a process alone. Port claims go to a directory of the test's own.
set -u
cli="${ZENITH_BUILDDIR:-.}/launcher/zenith-run"
ZENITH_PORT_DIR="${TMPDIR:-/tmp}/zenith-run-cli-$$"
export ZENITH_PORT_DIR
unset SLURM_JOB_ID SLURM_STEP_ID SLURM_PROCID PMIX_RANK PMIX_NAMESPACE
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
check 0 "Usage: srun [SRUN OPTIONS] zenith-run [OPTIONS] [--] PROGRAM [ARGS...]" "--help" --help
check 0 "zenith-run 0." "--version" --version
check 2 "zenith: no program to run" "no program" --timing
check 2 "zenith: unknown option --frob; see zenith-run --help" "unknown option" --frob true
check 2 "zenith: --bind=fast is not a bind mode" "bad --bind" --bind=fast true
check 2 "zenith: --port-range 2000-1000: ports must be 1024-65535" "backwards port range" -p 2000-1000 true
check 2 "zenith: --preflight-min-busbw 'lots' is not a bandwidth" "bad bandwidth" --preflight-min-busbw lots true
check 2 "zenith: --master-addr 'node 1' is not a host name or IP address" "--master-addr with a space" --master-addr 'node 1' true
ZENITH_MASTER_ADDR="$(printf 'a\nb')" check 2 "is not a host name or IP address" "ZENITH_MASTER_ADDR with a newline" true
check 0 "fe80::1%eth0" "an IPv6 --master-addr with a zone" --master-addr 'fe80::1%eth0' sh -c 'echo $MASTER_ADDR'
check 2 "zenith: --iface 'eth0 eth1' is not a network interface name" "--iface with a space" --iface 'eth0 eth1' true
ZENITH_MEM=near check 2 "zenith: ZENITH_MEM=near is not a memory policy" "bad ZENITH_MEM" true
ZENITH_VERBOSE=2 check 2 "zenith: ZENITH_VERBOSE=2: give 1" "bad ZENITH_VERBOSE" true
check 0 "0 1 0 1 0 1 127.0.0.1 single" "a process alone is rank 0 of 1" sh -c \
    'echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $NODE_RANK $GROUP_WORLD_SIZE $MASTER_ADDR $ZENITH_BOOTSTRAP'
check 3 "bye" "the program's exit status" sh -c 'echo bye; exit 3'
check 143 "zenith: rank 0 (" "killed by a signal: 128+N and a message" sh -c 'kill -TERM $$'
check 127 "zenith: cannot start zenith-no-such-program" "program not found" zenith-no-such-program
check 0 "timing rank 0" "--timing" --timing true
# The data service of a process alone: a real token file, checked by a C consumer.
data="${TMPDIR:-/tmp}/zenith-run-cli-data-$$"
mkdir -p "$data"
/usr/bin/python3 -c "
import array, sys
array.array('H', (t % 65521 for t in range(16 * 100 + 1))).tofile(open(sys.argv[1], 'wb'))" "$data/train.bin"
dp_check="${ZENITH_BUILDDIR:-.}/tests/integration/dp_check"
check 0 "dp_check: rank 0: 13 batches, 100 samples" "--data feeds the program" \
    --data "path=$data/train.bin,seq_len=16" "$dp_check" "$data/ids"
ZENITH_DATA="path=$data/train.bin,seq_len=16,io=pread" check 0 "; pread" "ZENITH_DATA, pread" \
    "$dp_check" "$data/ids"
check 2 "zenith: --data: unknown key 'colour'" "unknown SPEC key" --data "path=$data/train.bin,seq_len=16,colour=red" true
ZENITH_DATA="path=$data/train.bin" check 2 "zenith: ZENITH_DATA: format=tokens needs seq_len=N" "SPEC without seq_len" true
check 1 "$data/missing.bin" "a missing data file" --data "path=$data/missing.bin,seq_len=16" true
rm -rf "$data"
check 0 "ready " "--timing reports readiness" --timing sh -c 'echo 1 >&$ZENITH_READY_FD'
left=$(ls "$ZENITH_PORT_DIR" 2>/dev/null | grep -c '^[0-9]')
[ "$left" -eq 0 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "not ok - $left port claims left"; }
rm -rf "$ZENITH_PORT_DIR"
finish
