/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_WORLD_H
#define ZENITH_LAUNCHER_WORLD_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/error.h"

/* Who this rank is and how it learned it: through PMIx (srun --mpi=pmix), from Slurm's step
 * environment when PMIx is not there (srun --mpi=none), or alone outside any srun step. */
enum zr_bootstrap { ZR_BOOT_PMIX, ZR_BOOT_SLURM, ZR_BOOT_SINGLE };

struct zr_world {
    enum zr_bootstrap via;
    unsigned rank, size;
    unsigned local_rank, local_size; /* ranks on this node */
    unsigned node_rank, nnodes;
    char host[256];       /* this node's name */
    char job_step[64];    /* "JOBID.STEPID" inside a Slurm step, else "" */
    char first_host[256]; /* the step's first node (Slurm fallback only) */
    char why[256];        /* why PMIx was not used, for the notice */
    bool pmix_up;
};

/* What rank 0 tells every rank, decided before the exchange. */
#define ZR_NCCL_ID_HEX 256 /* NCCL_UNIQUE_ID_BYTES (128) in hex */
struct zr_rendezvous {
    char master_addr[256];
    unsigned master_port;
    char nccl_id[ZR_NCCL_ID_HEX + 1];      /* for the program; "" when none */
    char preflight_id[ZR_NCCL_ID_HEX + 1]; /* for --preflight's own communicator */
};

int zr_world_init(struct zr_world *w, struct zn_error *err);

/* One collective round. Every rank publishes `status` ("" when it is ready, else why not);
 * in round 1 rank 0 also publishes *rv and every other rank receives it. On return
 * `failure` holds "" when every rank is ready, else the first failing rank's message with
 * its rank and node. Without PMIx there is nothing to exchange: only this rank's status
 * counts and *rv is left as the caller made it. Returns -1 (with err) when the exchange
 * itself fails. */
int zr_world_exchange(struct zr_world *w, unsigned round, const char *status,
                      struct zr_rendezvous *rv, char *failure, size_t len, struct zn_error *err);

/* Leave PMIx, after the program exited. A program that is itself a PMIx client (MPI) connects
 * as the same rank while zenith-run is still connected: leaving before it starts raced with
 * the server's clean-up of the old connection, and the program's first fence failed now and
 * then (1 in 15 runs with Slurm 22.05's pmix_v4). */
void zr_world_finalize(struct zr_world *w);

const char *zr_bootstrap_name(enum zr_bootstrap via);

#endif
