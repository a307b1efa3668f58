#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang and runs each for SECONDS
# (default 60) on a scratch copy of its seeds in tests/fuzz/corpus/<harness>/, two at a time.
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]     all harnesses, or the ones named
#   tests/fuzz/run.sh --repro HARNESS FILE        run one input once (a crash file), show why
#   tests/fuzz/run.sh --build [HARNESS...]        only build
# Prints "PASS: fuzz/<harness> (N runs, S s)" or "FAIL: fuzz/<harness>" with the crash file and
# its report, and exits non-zero on any failure. ZENITH_BUILDDIR is a configured build directory
# (its config.h; default build/), ZENITH_FUZZ_DIR where harnesses and scratch go (default
# $ZENITH_BUILDDIR/fuzz), CLANG the compiler (default clang: Debian 12's clang 14 with
# libclang-rt-14-dev). Each harness names the sources it needs beyond runtime/ on its
# "ZN_FUZZ_SOURCES:" line and its input size limit on "ZN_FUZZ_MAX_LEN:".
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${ZENITH_BUILDDIR:-$src/build}
work=${ZENITH_FUZZ_DIR:-$build/fuzz}
cc=${CLANG:-clang}
jobs=${ZENITH_FUZZ_JOBS:-2}

die() {
    echo "zenith: $*" >&2
    exit 2
}

mode=run
seconds=60
case "${1:-}" in
--repro)
    mode=repro
    [ $# -eq 3 ] || die "usage: tests/fuzz/run.sh --repro HARNESS FILE"
    ;;
--build) mode=build && shift ;;
[0-9]*)
    seconds=$1
    shift
    ;;
-*) die "unknown option $1; usage: tests/fuzz/run.sh [SECONDS] [HARNESS...] | --repro HARNESS FILE" ;;
esac
[ -f "$build/config.h" ] ||
    die "$build has no config.h; configure a build there first or set ZENITH_BUILDDIR"
command -v "$cc" >/dev/null || die "$cc not found; install clang and libclang-rt-14-dev (contrib/install-deps.sh)"
mkdir -p "$work" || exit 2
work=$(cd "$work" && pwd)

all=$(cd "$src/tests/fuzz" && printf '%s\n' fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
harness_ok() {
    [ -f "$src/tests/fuzz/fuzz_$1.c" ] || die "no harness '$1' (tests/fuzz/fuzz_$1.c); there are: $(printf '%s ' $all)"
}

# -O1 and the sanitizers as libFuzzer's documentation uses them; UBSan reports are fatal so the
# fuzzer stops at the first one.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
deps="hwloc numa liburing"
# The quotes around ZF_SRCDIR are for the compiler (a C string), hence a string, not an array.
# shellcheck disable=SC2089,SC2090,SC2086
cflags="-g -O1 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -I$src -I$build $san \
    -DZF_SRCDIR=\"$src\" $(pkg-config --cflags $deps)"
libs="$(pkg-config --libs $deps) -lm -ldl -lpthread"
# As configure --enable-sanitizers does: libpciaccess kept mapped, or the memory hwloc's PCI
# plugin leaves with it shows as a leak of an unloaded module no suppression can name.
[ -f "$(pkg-config --variable=libdir hwloc)/hwloc/hwloc_pci.so" ] &&
    libs="$libs -Wl,--no-as-needed,-l:libpciaccess.so.0,--as-needed"

# runtime/ once as an archive: harnesses take what they use from it.
build_runtime() {
    local objs=() f o
    mkdir -p "$work/obj" || return 1
    for f in "$src"/runtime/*.c; do
        o=$work/obj/$(basename "${f%.c}").o
        if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ "$build/config.h" -nt "$o" ] ||
            [ -n "$(find "$src/runtime" -name '*.h' -newer "$o" -print -quit)" ]; then
            # shellcheck disable=SC2086 # flag lists
            "$cc" $cflags -fsanitize=fuzzer-no-link -c "$f" -o "$o" || return 1
        fi
        objs+=("$o")
    done
    rm -f "$work/libzn-fuzz.a"
    ar rcs "$work/libzn-fuzz.a" "${objs[@]}"
}

build_one() {
    local h=$1 c=$src/tests/fuzz/fuzz_$1.c extra
    extra=$(sed -n 's/^.*ZN_FUZZ_SOURCES:\(.*\)$/\1/p' "$c")
    # shellcheck disable=SC2086 # flag and source lists
    "$cc" $cflags -fsanitize=fuzzer "$c" $(for s in $extra; do echo "$src/$s"; done) \
        "$work/libzn-fuzz.a" $libs -o "$work/fuzz_$h"
}

max_len() {
    sed -n 's/^.*ZN_FUZZ_MAX_LEN: *\([0-9]*\).*$/\1/p' "$src/tests/fuzz/fuzz_$1.c"
}

# The tests' sanitizer settings, and the hwloc PCI suppressions (tests/sanitizers/lsan.supp).
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$src/tests/sanitizers/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
# Harnesses see none of the caller's Zenith settings (zenith-run's options fall back to them).
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(ZENITH_[A-Z_]*\)=.*/\1/p' | grep -v '^ZENITH_\(BUILDDIR\|FUZZ_\)')

if [ "$mode" = repro ]; then
    h=$2 file=$3
    harness_ok "$h"
    [ -f "$file" ] || die "no crash file $file"
    build_runtime && build_one "$h" || die "could not build fuzz_$h"
    mkdir -p "$work/tmp-$h" && TMPDIR="$work/tmp-$h" "$work/fuzz_$h" -runs=1 "$file"
    exit $?
fi

if [ $# -gt 0 ]; then harnesses=$*; else harnesses=$all; fi
for h in $harnesses; do harness_ok "$h"; done
build_runtime || { echo "FAIL: fuzz/build (runtime/ with $cc)"; exit 1; }
status=0
built=
for h in $harnesses; do
    if build_one "$h"; then built="$built $h"; else echo "FAIL: fuzz/$h (does not build)"; status=1; fi
done
[ "$mode" = build ] && exit $status

run_one() {
    local h=$1 corpus=$work/corpus-$1 log=$work/$1.log runs secs crash
    rm -rf "$corpus" "$work/tmp-$h" "$work/crash-$h"
    mkdir -p "$corpus" "$work/tmp-$h" "$work/crash-$h"
    cp "$src/tests/fuzz/corpus/$h"/* "$corpus"/ 2>/dev/null
    TMPDIR="$work/tmp-$h" "$work/fuzz_$h" -max_total_time="$seconds" -max_len="$(max_len "$h")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/crash-$h/" "$corpus" >"$log" 2>&1
    local rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    crash=$(find "$work/crash-$h" -type f | head -n 1)
    if [ "$rc" -eq 0 ] && [ -z "$crash" ]; then
        echo "PASS: fuzz/$h (${runs:-?} runs, ${secs:-$seconds} s)"
    else
        {
            echo "FAIL: fuzz/$h (exit $rc) crash file: ${crash:-none}"
            echo "  reproduce: tests/fuzz/run.sh --repro $h ${crash:-FILE}"
            grep -A 40 -m 1 'ERROR: \|runtime error\|==ERROR\|deadly signal\|timeout after' "$log" | head -n 60
        } >"$work/$h.result"
        cat "$work/$h.result"
        return 1
    fi
}

running=0
for h in $built; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
    run_one "$h" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
exit $status
