#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's second command: the whole test suite (unit, golden, live topology, CLI) with
# warnings as errors, the integration tests on a real local Slurm cluster, the unit, golden and
# CLI tests again built with ASan+UBSan (build/sanitize), every libFuzzer harness for a minute
# (tests/fuzz/run.sh), then 'make distcheck'. Prints one summary line and exits non-zero on any
# failure.
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
# The same suites under AddressSanitizer and UBSan. Without the slurmctld plugins: they can only
# be loaded by a slurmctld built with ASan, and their policy core is in the unit tests anyway.
# Without Python: Debian's python3 cannot load an ASan-built extension. Its .trs files are
# counted with the others below.
sanitize_built=1
mkdir -p sanitize
if ( cd sanitize &&
    { [ -f Makefile ] || ../../configure --enable-werror --enable-sanitizers --without-python \
        >configure.out || { cat configure.out config.log >&2; false; }; } &&
    make -j"$(nproc)" >/dev/null ); then
    make -C sanitize -j"$(nproc)" check >/dev/null || status=1
else
    echo "zenith: the sanitizer build (build/sanitize) failed"
    sanitize_built=0
    status=1
fi
# libFuzzer harnesses of every parser of outside input, built with clang from this build's
# config.h; their driver prints PASS/FAIL lines like the integration tests'.
ZENITH_BUILDDIR="$top/build" ZENITH_FUZZ_DIR="$top/build/fuzz" \
    "$top/tests/fuzz/run.sh" "${ZENITH_FUZZ_SECONDS:-60}" 2>&1 | tee fuzz.log
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
[ "$sanitize_built" = 1 ] || failed=$((failed + 1))
passed=$((passed + $(grep -c '^PASS: ' fuzz.log)))
failed=$((failed + $(grep -c '^FAIL: ' fuzz.log)))

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
