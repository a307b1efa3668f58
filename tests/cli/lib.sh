# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# Shared by the CLI tests that check a command's exit status and one piece of its output
# (sourced). The test sets $cli to the command, then calls check; finish prints the tally.
passed=0
failed=0

# check EXIT-STATUS 'text the output must contain' description args...
check() {
    want_rc=$1 needle=$2 what=$3
    shift 3
    out=$("$cli" "$@" 2>&1)
    rc=$?
    if [ "$rc" -eq "$want_rc" ] && printf '%s' "$out" | grep -qF -- "$needle"; then
        passed=$((passed + 1)); echo "ok - $what"
    else
        failed=$((failed + 1)); echo "not ok - $what (exit $rc): $out"
    fi
}

finish() {
    echo "$(basename "$cli"): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
