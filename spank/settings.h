/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_SETTINGS_H
#define ZENITH_SPANK_SETTINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"
#include "runtime/hugepages.h"
#include "runtime/plan.h"
#include "runtime/topology.h"

/* The site's settings: the arguments after the plugin path on its plugstack.conf line. Plain C
 * without Slurm headers, so the parser is unit tested. */
struct zn_spank_config {
    enum zn_bind bind;        /* bind= default placement */
    bool verbose;             /* bind=...,verbose: report every step */
    enum zn_mem mem;          /* mem= default memory policy */
    uint64_t hugepages_max;   /* hugepages_max= bytes per node a job may reserve, 0: none */
    char topology[PATH_MAX];  /* topology= cached hwloc XML, %n = node name */
    char state_dir[PATH_MAX]; /* state_dir= where huge page reservations are recorded */
    bool exclusive_only;      /* act only on jobs that have the whole node */
    bool default_off;         /* act only when the user asked with a Zenith option */
    bool report_only;         /* plan and report, change nothing (trial runs, other hosts' XML) */
};

#define ZN_DEFAULT_STATE_DIR ZN_DEFAULT_HUGEPAGE_STATE_DIR

/* Strict: an unknown key, a missing or bad value, or a repeated key is refused with a message
 * naming the argument. */
int zn_spank_config_parse(int argc, char *const argv[], struct zn_spank_config *cfg,
                          struct zn_error *err);

/* This process's settings. A process serves one SPANK context and reads one plugstack line,
 * so every context's code (and the huge page ledger) sees the same settings: loaded by
 * slurm_spank_init, and again by the job epilog, which runs without it. Defaults until then. */
int zn_spank_settings_load(int argc, char *const argv[], struct zn_error *err);
const struct zn_spank_config *zn_spank_settings(void);

#endif
