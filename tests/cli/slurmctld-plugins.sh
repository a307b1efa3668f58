#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Zenith's slurmctld plugins against the installed Slurm, without starting it: every symbol a
# plugin takes from Slurm exists in the processes that load it (a missing one makes the daemon
# fatal() at start, or die at the first call), and every entry of the plugin API table that
# Slurm's source lists is exported (a missing one is fatal too). The select plugin is loaded by
# every client and daemon, so it may only take what libslurmfull has; site_factor and
# job_submit run only in slurmctld.
set -u
plugins=$ZENITH_BUILDDIR/select/.libs
src=${ZENITH_SLURM_SOURCE:-}
if [ ! -r "$plugins/select_zenith_cons_tres.so" ]; then
    echo "skipped: the slurmctld plugins are not built (configure --with-slurm-source)"
    exit 77
fi
libslurm=$(ls /usr/lib/*/slurm-wlm/libslurmfull.so 2>/dev/null | head -n1)
ctld=$(command -v slurmctld || echo /usr/sbin/slurmctld)
[ -r "$libslurm" ] && [ -x "$ctld" ] || { echo "skipped: Slurm is not installed"; exit 77; }
failed=0

defined() {
    nm -D --defined-only "$@" | awk '{ print $3 }' | sort -u
}
# Slurm's symbols a plugin needs: undefined, not weak, not versioned (libc's carry @GLIBC).
needed() {
    nm -D --undefined-only "$1" | awk '$1 == "U" && $2 !~ /@/ { print $2 }' | sort -u
}
check_resolves() { # plugin, then the objects that load it
    local so=$1 missing
    shift
    missing=$(comm -23 <(needed "$so") <(defined "$@"))
    if [ -n "$missing" ]; then
        echo "FAIL: $(basename "$so") needs symbols the loading process lacks:" $missing
        failed=1
    else
        echo "ok: $(basename "$so"): $(needed "$so" | wc -l) Slurm symbols resolve in $(basename -a "$@" | tr '\n' ' ')"
    fi
}
# The API table from Slurm's own source: "name", lines between "syms[] = {" and "};".
api_of() { # file, array name
    sed -n "/$2\[\] = {/,/};/p" "$1" | grep -o '"[a-z_]*"' | tr -d '"'
}
check_api() { # plugin, file, array
    local so=$1 missing
    missing=$(comm -23 <(api_of "$2" "$3" | sort -u) <(defined "$so"))
    if [ -z "$(api_of "$2" "$3")" ]; then
        echo "FAIL: no $3 in $2"
        failed=1
    elif [ -n "$missing" ]; then
        echo "FAIL: $(basename "$so") lacks API entries:" $missing
        failed=1
    else
        echo "ok: $(basename "$so") exports all $(api_of "$2" "$3" | wc -l) entries of $3"
    fi
    for sym in plugin_name plugin_type plugin_version; do
        defined "$so" | grep -qx "$sym" || { echo "FAIL: $(basename "$so") lacks $sym"; failed=1; }
    done
}

check_resolves "$plugins/select_zenith_cons_tres.so" "$libslurm"
check_resolves "$plugins/site_factor_zenith.so" "$ctld" "$libslurm"
check_resolves "$plugins/job_submit_zenith.so" "$ctld" "$libslurm"
# Data the select plugin reads must not be slurmctld's alone: sinfo would fail to load it.
if nm -D --undefined-only "$plugins/site_factor_zenith.so" | grep -qw "U job_list"; then
    echo "FAIL: site_factor_zenith.so takes job_list strongly"
    failed=1
fi
if [ -n "$src" ] && [ -r "$src/src/common/select.c" ]; then
    check_api "$plugins/select_zenith_cons_tres.so" "$src/src/common/select.c" node_select_syms
    check_api "$plugins/site_factor_zenith.so" "$src/src/common/site_factor.c" syms
    check_api "$plugins/job_submit_zenith.so" "$src/src/slurmctld/job_submit.c" syms
else
    echo "FAIL: ZENITH_SLURM_SOURCE does not name the Slurm source tree the plugins were built from"
    failed=1
fi
exit $failed
