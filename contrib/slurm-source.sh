#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetches the source of the EXACT Slurm version installed here (Debian's slurm-wlm) and
# configures it, for building Zenith's slurmctld plugins (select, site_factor, job_submit):
# slurmctld refuses plugins built against another micro version. Prints the directory to pass
# as --with-slurm-source. Uses a private apt source list (nothing in /etc/apt is changed).
#   contrib/slurm-source.sh [DIR]   (default /var/cache/zenith/slurm-<version>)
set -eu

die() {
    echo "zenith: $*" >&2
    exit 1
}

version=$(dpkg-query -W -f='${source:Version}' slurmctld 2>/dev/null) ||
    die "slurmctld is not installed; run contrib/install-deps.sh first"
upstream=${version%%-*}
dest=${1:-/var/cache/zenith/slurm-$version}
tree=$dest/slurm-$upstream

if [ -f "$tree/.zenith-configured" ]; then
    echo "$tree"
    exit 0
fi
command -v dpkg-source >/dev/null || die "dpkg-source is missing; install dpkg-dev"
mkdir -p "$dest/apt/lists/partial" || die "cannot create $dest; run as root or give a DIR"
suites=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
[ -n "$suites" ] || die "cannot tell this Debian release from /etc/os-release"
{
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\n' \
        "$suites" "$suites"
    printf 'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n'
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian-security\nSuites: %s-security\n' \
        "$suites"
    printf 'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
} >"$dest/apt/zenith.sources"
apt_opts=(-q -o "Dir::Etc::SourceList=$dest/apt/zenith.sources" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$dest/apt/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update >"$dest/apt/update.log" 2>&1 ||
    die "apt-get update of Debian's source lists failed (log: $dest/apt/update.log)"
(cd "$dest" && apt-get "${apt_opts[@]}" source --download-only "slurm-wlm=$version") \
    >"$dest/apt/source.log" 2>&1 ||
    die "cannot download the source of slurm-wlm $version (log: $dest/apt/source.log)"
rm -rf "$tree"
dpkg-source -x "$dest/slurm-wlm_$version.dsc" "$tree" >"$dest/apt/extract.log" 2>&1 ||
    die "cannot unpack slurm-wlm $version (log: $dest/apt/extract.log)"
# Debian's own configure flags (debian/rules); munge and PAM change nothing the plugin headers
# read, so their -dev packages are not needed.
(cd "$tree" && ./configure -q --prefix=/usr --sysconfdir=/etc/slurm \
    --libdir=/usr/lib/x86_64-linux-gnu --without-rpath --disable-debug \
    --enable-multiple-slurmd --with-pmix=/usr/lib/x86_64-linux-gnu/pmix2) \
    >"$dest/configure.log" 2>&1 ||
    die "Slurm's configure failed in $tree (log: $dest/configure.log)"
touch "$tree/.zenith-configured"
echo "$tree"
