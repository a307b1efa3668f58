/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_OPTIONS_H
#define ZENITH_LAUNCHER_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/dataspec.h"
#include "runtime/error.h"
#include "runtime/plan.h"

/* zenith-run's command line, with the ZENITH_* environment as the fallback for every option
 * (the command line wins), so a site or an sbatch script can set defaults once. */
struct zr_options {
    enum zn_bind bind; /* used when the SPANK plugin has not placed the task */
    enum zn_mem mem;
    bool report;          /* --bind MODE,verbose: print the binding report */
    bool placement_given; /* --bind or --mem on the command line: place even after the plugin */
    unsigned port_first, port_last; /* where rank 0 looks for a free MASTER_PORT */
    const char *master_addr;        /* NULL: chosen by rank 0 (see address.h) */
    const char *iface;              /* NULL: any interface */
    bool share_gpus;                /* more ranks than GPUs on a node is intended */
    bool preflight;
    uint64_t preflight_bytes;
    double preflight_min_busbw; /* GB/s; 0: report only */
    bool data_given;            /* --data / ZENITH_DATA: start the CPU data service */
    struct zn_dataspec data;    /* owns its path: zr_options_clear */
    bool timing;
    bool verbose;
    char **program; /* argv of the child, NULL-terminated */
};

enum zr_parse_result { ZR_PARSE_RUN, ZR_PARSE_HELP, ZR_PARSE_VERSION, ZR_PARSE_ERROR = -1 };

/* argv is not copied: opts->program points into it. */
enum zr_parse_result zr_options_parse(int argc, char **argv, struct zr_options *opts,
                                      struct zn_error *err);

void zr_options_clear(struct zr_options *opts);

/* --help */
void zr_print_usage(FILE *out);

#endif
