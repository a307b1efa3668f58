/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_ADDRESS_H
#define ZENITH_LAUNCHER_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/error.h"

/* MASTER_ADDR, chosen on rank 0's node: an IPv4 address other nodes can reach. In order:
 * the address of interface `iface` when given; the source address this node uses toward srun's
 * host (SLURM_LAUNCH_NODE_IPADDR), which is on the cluster's network; this host name's own
 * address; the first address of an interface that is up. Loopback only for single-node jobs.
 * `how` says which rule chose it, for --verbose. */
int zr_master_addr(const char *iface, bool multi_node, char *addr, size_t len, const char **how,
                   struct zn_error *err);

/* The interface this node sends from toward `addr` (numeric), for GLOO_SOCKET_IFNAME. */
int zr_iface_toward(const char *addr, char *name, size_t len);

#endif
