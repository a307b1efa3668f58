#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# zenith-hugepages's command line on a state directory of its own: help, refusals, listing,
# and records it cannot or need not release (the kernel's pools are never touched here).
set -u
cli="${ZENITH_BUILDDIR:-.}/tools/zenith-hugepages"
state="${TMPDIR:-/tmp}/zenith-hugepages-cli-$$"
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
check 0 "zenith-hugepages [--state-dir DIR] list" "--help" --help
check 2 "needs a command: list or release" "no command" --state-dir "$state"
check 2 "'frob' with these arguments is not a command" "unknown command" --state-dir "$state" frob
check 2 "'release' with these arguments is not a command" "release without keys" --state-dir "$state" release
check 2 "'list' with these arguments is not a command" "list takes no keys" --state-dir "$state" list x
check 0 "no huge page reservations recorded in $state" "list of a missing state directory" --state-dir "$state" list
check 0 "12.zn1: no such record" "release of an unknown key" --state-dir "$state" release 12.zn1
check 1 "'../x'" "a key that is not a record name" --state-dir "$state" release ../x
mkdir -p "$state"
printf 'zenith-hugepages 1\npage_size 2097152\nnode 0 3\n' >"$state/7.zn2"
check 0 "7.zn2: page_size 2097152; node 0 3;" "list shows a record" --state-dir "$state" list
printf 'zenith-hugepages 2\npage_size 2097152\nnode 0 3\npage_size 1073741824\nnode 1 1\n' >"$state/9.zn2"
check 0 "9.zn2: page_size 2097152; node 0 3; page_size 1073741824; node 1 1;" "list shows a record of two page sizes" --state-dir "$state" list
printf 'garbage\n' >"$state/8.zn2"
check 1 "damaged" "a damaged record is refused and kept" --state-dir "$state" release 8.zn2
[ -f "$state/8.zn2" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "not ok - damaged record kept"; }
# Records a user may not read are not "no records": the state directory is root's, 0700.
chmod 700 "$state"
if [ "$(id -u)" -ne 0 ]; then
    echo "skip - list as an unprivileged user: needs root to switch users (not counted)"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$cli"; then
    echo "skip - list as an unprivileged user: uid 65534 cannot run $cli (not counted)"
else
    real_cli=$cli
    cli=setpriv
    check 1 "zenith: cannot read the huge page records in $state: permission denied; run as root" \
        "list of an unreadable state directory" \
        --reuid=65534 --regid=65534 --clear-groups "$real_cli" --state-dir "$state" list
    check 1 "permission denied; run as root" "release --all of an unreadable state directory" \
        --reuid=65534 --regid=65534 --clear-groups "$real_cli" --state-dir "$state" release --all
    check 0 "no huge page reservations recorded in $state.missing" \
        "list of a missing state directory as an unprivileged user" \
        --reuid=65534 --regid=65534 --clear-groups "$real_cli" --state-dir "$state.missing" list
    cli=$real_cli
fi
# Something that is not a directory: an error, not an empty list.
rm -rf "$state"
: >"$state"
check 1 "zenith: cannot read the huge page records in $state: Not a directory" \
    "list of a state path that is not a directory" --state-dir "$state" list
rm -rf "$state"
finish
