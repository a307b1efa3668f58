/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_NCCL_H
#define ZENITH_LAUNCHER_NCCL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"
#include "launcher/world.h"

/* What zenith-run asks of CUDA and NCCL. It lives in a module of its own (zenith-run-nccl.so,
 * built when configure finds NCCL) that zenith-run loads only for steps with GPUs: zenith-run
 * itself then starts without loading NCCL's 200 MB and runs on nodes without CUDA. */
#define ZR_NCCL_MODULE_SYMBOL "zr_nccl_module_v1"

struct zr_preflight {
    unsigned rank, size;
    int device;         /* CUDA device ordinal, in the CUDA_VISIBLE_DEVICES order */
    const char *id_hex; /* the communicator's unique id, from rank 0 */
    uint64_t bytes;     /* per all-reduce */
    unsigned iterations;
    double timeout_s; /* for the communicator and the timed loop: never hang on a bad node */
    /* results */
    double seconds; /* mean time of one all-reduce */
    double busbw;   /* GB/s, the nccl-tests definition: algbw * 2(n-1)/n */
};

struct zr_nccl_module {
    /* CUDA devices this process sees; -1 (why says) when CUDA cannot be used. */
    int (*device_count)(char *why, size_t len);
    /* A new NCCL unique id, hex encoded. Needs no GPU; the bootstrap root it starts lives in
     * the calling process. */
    int (*unique_id)(char hex[ZR_NCCL_ID_HEX + 1], char *why, size_t len);
    /* Communicator + timed all-reduce; -1 (why says) on any failure or timeout. */
    int (*preflight)(struct zr_preflight *p, char *why, size_t len);
};

/* The module, loaded on first use (ZENITH_NCCL_MODULE overrides its path); NULL with a
 * message when zenith-run was built without NCCL or the module cannot be loaded here. */
const struct zr_nccl_module *zr_nccl_load(struct zn_error *err);

#endif
