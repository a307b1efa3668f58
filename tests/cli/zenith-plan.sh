#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith-plan as a user meets it: help, exit codes, and an error that names the bad option
# and value for every kind of bad input.
set -u
plan="${ZENITH_BUILDDIR:-.}/tools/zenith-plan"
xml="${ZENITH_SRCDIR:-.}/tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; sed 's/^/#   /' "$tmp/err" "$tmp/out" 2>/dev/null; }

# expect CODE 'text the output must contain' description -- args...
expect() {
    code=$1 needle=$2 what=$3
    shift 4
    "$plan" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        not_ok "$what (exit $rc, wanted $code)"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$tmp/out" "$tmp/err"; then
        not_ok "$what (no '$needle' in the output)"
    else
        ok "$what"
    fi
}

expect 0 "--hugepages SIZE[:PAGESIZE]" "--help lists the options" -- --help
expect 0 "zenith-plan 0." "--version" -- --version
expect 0 "GPUs 8, NICs 5" "topology summary of an XML" -- --xml "$xml"
expect 0 '"pci":"0000:0d:00.0","numa":[4]}' "a NIC's NUMA node in the JSON topology" \
    -- --xml "$xml" --format json
expect 0 "gpu order (visible devices): 2,3,4,5,0,1,6,7" "plan for 8 GPUs" -- --xml "$xml" --tasks 8 --gpus 0-7
expect 0 '"gpu_order":[{"visible":"2"' "JSON plan" -- --xml "$xml" --tasks 8 --gpus 0-7 --format json
expect 0 "CUDA_VISIBLE_DEVICES=2,3,4,5,0,1,6,7" "env format" -- --xml "$xml" --tasks 8 --gpus 0-7 --format env
expect 0 "hugepages (1G): numa 0 x 2" "huge pages in the plan" -- --xml "$xml" --tasks 4 --hugepages 8G:1G
hbm="${ZENITH_SRCDIR:-.}/tests/fixtures/zenith-2s4n-xeonmax-hbm-flat.xml"
expect 0 "ZENITH_MEMS=4" "--mem prefer-hbm takes the HBM node beside the cores" \
    -- --xml "$hbm" --tasks 4 --mem prefer-hbm --format env
expect 1 "mem=hbm asks for HBM, but the topology" "--mem hbm refused without HBM" \
    -- --xml "$xml" --tasks 2 --mem hbm
expect 0 "note: 1 allowed core stays idle" "an idle core explained" -- --xml "$xml" --tasks 3 --gpus 2-5
expect 0 "26 allowed cores stay idle: every task gets the 3 cores per task asked for" \
    "cores left by --cores-per-task explained" -- --xml "$xml" --tasks 2 --cores-per-task 3
expect 0 "topology: live" "live topology" --
expect 2 "zenith: --tasks=0 is out of range" "zero tasks" -- --xml "$xml" --tasks 0
expect 2 "zenith: --bind=fast is not a bind mode" "bad bind mode" -- --tasks 2 --bind fast
expect 2 "zenith: --mem=near is not a memory policy" "bad memory policy" -- --tasks 2 --mem near
expect 2 "zenith: --hugepages=8X is not a size" "bad huge page size" -- --tasks 2 --hugepages 8X
expect 2 "zenith: --format=yaml is not a format" "bad format" -- --format yaml
expect 2 "zenith: plan options need --tasks N" "plan option without --tasks" -- --gpus 0-3
expect 2 "zenith: unexpected argument 'extra'" "stray argument" -- extra
expect 2 "zenith: --frobnicate is not an option" "unknown option" -- --frobnicate
expect 2 "zenith: -z is not an option" "unknown short option" -- -z
expect 2 "zenith: --mem needs a value" "option without its value" -- --tasks 2 --mem
expect 2 "zenith: --tasks=abc is not a positive whole number" "tasks not a number" -- --tasks abc
expect 2 "zenith: --tasks=5000 is out of range (1-4096)" "too many tasks" -- --tasks 5000
expect 2 "zenith: --cores-per-task=0 is out of range" "zero cores per task" \
    -- --tasks 2 --cores-per-task 0
expect 2 "zenith: --hugepages=8G:3M: page size 3M is not a power of two" "bad huge page size" \
    -- --tasks 2 --hugepages 8G:3M
# Bad lists are usage errors found before the topology is read: with a missing XML, the
# list's message and exit 2 still come first.
expect 2 "zenith: --gpus=3-1: range 3-1 runs backwards" "backwards GPU range" \
    -- --xml "$tmp/missing.xml" --tasks 2 --gpus 3-1
expect 2 "zenith: --gpus=0,0: index 0 is listed twice" "GPU listed twice" \
    -- --xml "$tmp/missing.xml" --tasks 2 --gpus 0,0
expect 2 "zenith: --gpus=abc is not a list of indices" "GPU list not a list" \
    -- --xml "$xml" --tasks 2 --gpus abc
expect 2 "zenith: --cpus=5-2: range 5-2 runs backwards" "backwards CPU range" \
    -- --xml "$tmp/missing.xml" --tasks 2 --cpus 5-2
expect 2 "zenith: --cpus=0-3, is not a list of indices" "CPU list with a trailing comma" \
    -- --xml "$xml" --tasks 2 --cpus 0-3,
expect 2 "zenith: --cpus=70000: index 70000 is out of range" "CPU index out of range" \
    -- --xml "$xml" --tasks 2 --cpus 70000
expect 2 "takes no other option" "--write-xml with --tasks" -- --write-xml "$tmp/x.xml" --tasks 2
expect 1 "zenith: --gpus=0-9: GPU 8 does not exist; the node has 8 GPUs (0-7)" \
    "GPU the node does not have" -- --xml "$xml" --tasks 2 --gpus 0-9
expect 1 "zenith: CPUs 64-65 of the step are not in the topology" "CPUs the node does not have" \
    -- --xml "$xml" --tasks 2 --cpus 60-65
lassen="${ZENITH_SHARED_FIXTURES:-}/topology/llnl-lassen28_2xPOWER9_4xV100-NVLink_hwloc2.2.xml"
if [ -r "$lassen" ]; then
    # Lassen's XML has PUs 0-7 but does not allow them: not "another machine".
    expect 1 "zenith: CPUs 0-7 of the step are in the topology $lassen (CPUs 0-175) but outside its allowed_cpuset, 8-87,96-175" \
        "CPUs the XML has but does not allow" -- --xml "$lassen" --tasks 2 --cpus 0-9
else
    echo "ok - CPUs the XML has but does not allow # SKIP no shared fixtures"
fi
expect 1 "zenith: cannot read topology XML $tmp/missing.xml" "missing XML" -- --xml "$tmp/missing.xml"
echo "<topology>" >"$tmp/bad.xml"
expect 1 "is not a valid hwloc topology XML" "broken XML" -- --xml "$tmp/bad.xml"
expect 1 "bind=core gives every task a core of its own" "bind=core oversubscribed" \
    -- --xml "$xml" --tasks 40 --bind core
expect 0 "" "write the live topology cache" -- --write-xml "$tmp/node.xml"
expect 0 "topology: $tmp/node.xml" "read the cache back" -- --xml "$tmp/node.xml"
if ls "$tmp"/node.xml.tmp.* >/dev/null 2>&1; then not_ok "no temporary file left"; else ok "no temporary file left"; fi
if tail -n1 "$tmp/node.xml" | grep -Eq '^<!-- zenith-topology-cache v1 bytes=[0-9]+ fnv1a64=[0-9a-f]{16} -->$' &&
    [ "$(stat -c %a "$tmp/node.xml")" = 644 ]; then
    ok "the cache is sealed, mode 644"
else
    not_ok "the cache is sealed, mode 644 ($(tail -n1 "$tmp/node.xml"), $(stat -c %a "$tmp/node.xml"))"
fi
# --xml IN --write-xml OUT seals a given XML once it loads in a child process.
expect 0 "" "seal a fixture" -- --xml "$xml" --write-xml "$tmp/fixture.xml"
expect 0 "GPUs 8, NICs 5" "read the sealed fixture back" -- --xml "$tmp/fixture.xml"
if head -c "$(wc -c <"$xml")" "$tmp/fixture.xml" | cmp -s - "$xml"; then ok "the fixture's XML kept as it was"; else not_ok "the fixture's XML kept as it was"; fi
expect 2 "takes no other option than --xml IN" "--xml --write-xml with --format" \
    -- --xml "$xml" --write-xml "$tmp/x.xml" --format json
printf '<topology><object type="Machine"' >"$tmp/garbage.xml"
expect 1 "zenith: $tmp/garbage.xml is not a valid hwloc topology XML; nothing was written to $tmp/out.xml" \
    "an XML that does not load is not sealed" -- --xml "$tmp/garbage.xml" --write-xml "$tmp/out.xml"
# One byte renamed (the Machine's complete_nodeset) makes hwloc 2.9 crash loading it.
sed '0,/complete_nodeset=/s//complete_noZeset=/' "$xml" >"$tmp/crash.xml"
expect 1 "zenith: hwloc crashed loading $tmp/crash.xml (Segmentation fault): it is not a topology Zenith can use; nothing was written to $tmp/out.xml" \
    "an XML that crashes hwloc is not sealed" -- --xml "$tmp/crash.xml" --write-xml "$tmp/out.xml"
if ls "$tmp"/out.xml* >/dev/null 2>&1; then not_ok "nothing written for refused XML"; else ok "nothing written for refused XML"; fi

if command -v python3 >/dev/null 2>&1; then
    "$plan" --xml "$xml" --tasks 3 --gpus 0-7 --format json >"$tmp/out" 2>"$tmp/err" &&
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["tasks"])==3' "$tmp/out" &&
        ok "JSON plan parses" || not_ok "JSON plan parses"
    "$plan" --xml "$xml" --format json >"$tmp/out" 2>"$tmp/err" &&
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["gpus"])==8' "$tmp/out" &&
        ok "JSON topology parses" || not_ok "JSON topology parses"
fi

echo "zenith-plan: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
