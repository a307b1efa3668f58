/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_REPORT_H
#define ZENITH_REPORT_H

#include <stdio.h>

#include "runtime/plan.h"

/* Readable and machine-readable renderings of a plan and of a topology. The text plan is the
 * binding report users see (zenith-plan, --zenith-bind=...,verbose) and what golden tests
 * compare, so its layout is part of the interface. `node` names the node (NULL: omitted).
 * All return 0, or -1 when writing to out failed. */
int zn_report_plan_text(FILE *out, const struct zn_plan *plan, const char *node);
int zn_report_plan_json(FILE *out, const struct zn_plan *plan, const char *node);
int zn_report_topology_text(FILE *out, const struct zn_topology *topo);
int zn_report_topology_json(FILE *out, const struct zn_topology *topo);

#endif
