/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_DEVICES_H
#define ZENITH_DEVICES_H

#include "runtime/topology.h"

/* Finds the GPUs and NICs among the topology's PCI devices (internal to topology loading). */
int zn_devices_scan(struct zn_topology *topo, struct zn_error *err);
void zn_devices_free(struct zn_topology *topo);

#endif
