#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the Debian 12 packages Zenith needs to build and test, and to run the local Slurm
# cluster (slurm-wlm, munge; libpmix-dev is needed at run time too: Slurm's PMIx plugin dlopens
# the unversioned libpmix.so), Debian's PyTorch (python3-torch, CPU) for the zenith-run demo
# and tests, python3-dev for the zenith.data module, and DPDK's and ck's rings as the ring
# benchmark's peers, clang with libclang-rt-14-dev (Debian 12's clang 14 has libFuzzer there)
# for tests/fuzz. Run as root; safe to repeat (apt is only asked when something is missing).
set -eu

packages="build-essential autoconf automake libtool pkg-config
  libhwloc-dev hwloc-nox libnuma-dev liburing-dev libpmix-dev libslurm-dev check python3 python3-dev
  python3-torch python3-numpy slurm-wlm munge procps util-linux passwd iproute2 tar
  libdpdk-dev libck-dev clang libclang-rt-14-dev"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "zenith: these Debian packages are missing:$missing; run contrib/install-deps.sh as root" >&2
    exit 1
fi
echo "zenith: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
