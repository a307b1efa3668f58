#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's second command: the whole test suite (unit, golden, live topology, CLI) with
# warnings as errors, the integration tests on a real local Slurm cluster, then
# 'make distcheck'. Prints one summary line and exits non-zero on any failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/install-deps.sh" || exit 1
"$top/contrib/build.sh" || exit 1
cd "$top/build" || exit 1

status=0
make -j"$(nproc)" check || status=1
# Integration tests against a real local Slurm cluster; their driver prints PASS/FAIL lines.
make check-integration 2>&1 | tee integration.log
[ "${PIPESTATUS[0]:-0}" = 0 ] || status=1
# Show the log of every test that did not pass, so a CI failure explains itself.
mapfile -t results < <(find . -path './zenith-*' -prune -o -name '*.trs' -print)
for trs in "${results[@]}"; do
    if ! grep -q '^:test-result: \(PASS\|SKIP\)' "$trs"; then
        echo "==== ${trs%.trs}.log"
        cat "${trs%.trs}.log"
    fi
done
count() {
    cat "${results[@]}" /dev/null | grep -c "^:test-result: $1"
}
passed=$(count PASS)
failed=$(count '\(FAIL\|ERROR\|XPASS\)')
skipped=$(count SKIP)
passed=$((passed + $(grep -c '^PASS: ' integration.log)))
failed=$((failed + $(grep -c '^FAIL: ' integration.log)))
skipped=$((skipped + $(grep -c '^SKIP: ' integration.log)))

if [ "${ZENITH_SKIP_DISTCHECK:-0}" != 1 ]; then
    slurm_source=$(sed -n 's/^ZN_SLURM_SOURCE = //p' Makefile)
    make distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror${slurm_source:+ --with-slurm-source=$slurm_source}" \
        >distcheck.log 2>&1 || {
        tail -n 60 distcheck.log
        echo "zenith: make distcheck failed (full log: build/distcheck.log)"
        status=1
        failed=$((failed + 1))
    }
    [ "$status" -eq 0 ] && passed=$((passed + 1)) && echo "PASS: make distcheck"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
