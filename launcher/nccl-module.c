/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-run's NCCL module: the only code that links CUDA and NCCL. Every call that can
 * block on another node (communicator set-up, the all-reduce) is non-blocking and polled
 * against a deadline, and aborted when it passes: a bad node fails the step, never hangs it. */
#include "config.h"

#include <cuda_runtime_api.h>
#include <nccl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "launcher/nccl.h"

_Static_assert(sizeof(ncclUniqueId) * 2 == ZR_NCCL_ID_HEX, "NCCL's unique id size changed");

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int device_count(char *why, size_t len)
{
    int n = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);

    if (rc != cudaSuccess) {
        snprintf(why, len, "%s", cudaGetErrorString(rc));
        return rc == cudaErrorNoDevice ? 0 : -1;
    }
    return n;
}

static int unique_id(char hex[ZR_NCCL_ID_HEX + 1], char *why, size_t len)
{
    ncclUniqueId id;
    ncclResult_t rc = ncclGetUniqueId(&id);

    if (rc != ncclSuccess) {
        snprintf(why, len, "ncclGetUniqueId: %s", ncclGetErrorString(rc));
        return -1;
    }
    for (size_t i = 0; i < sizeof(id.internal); i++)
        sprintf(hex + 2 * i, "%02x", (unsigned char)id.internal[i]);
    return 0;
}

static int parse_id(const char *hex, ncclUniqueId *id)
{
    if (strlen(hex) != ZR_NCCL_ID_HEX)
        return -1;
    for (size_t i = 0; i < sizeof(id->internal); i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
            return -1;
        id->internal[i] = (char)byte;
    }
    return 0;
}

/* Wait until the communicator's pending work is done, or the deadline passes. */
static ncclResult_t settle(ncclComm_t comm, double deadline)
{
    ncclResult_t state = ncclInProgress;

    while (state == ncclInProgress && now() < deadline)
        if (ncclCommGetAsyncError(comm, &state) != ncclSuccess)
            return ncclInternalError;
    return state;
}

static int preflight(struct zr_preflight *p, char *why, size_t len)
{
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    double deadline = now() + p->timeout_s, t0;
    size_t count = p->bytes / sizeof(float);
    ncclComm_t comm = NULL;
    cudaStream_t stream = NULL;
    float *buf = NULL;
    ncclUniqueId id;
    ncclResult_t nrc;
    cudaError_t crc;
    int rc = -1;

    if (parse_id(p->id_hex, &id) < 0) {
        snprintf(why, len, "the preflight id from rank 0 is damaged");
        return -1;
    }
    if ((crc = cudaSetDevice(p->device)) != cudaSuccess ||
        (crc = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)) != cudaSuccess ||
        (crc = cudaMalloc((void **)&buf, count * sizeof(float))) != cudaSuccess ||
        (crc = cudaMemset(buf, 0, count * sizeof(float))) != cudaSuccess) {
        snprintf(why, len, "CUDA device %d: %s", p->device, cudaGetErrorString(crc));
        goto out;
    }
    config.blocking = 0;
    nrc = ncclCommInitRankConfig(&comm, (int)p->size, id, (int)p->rank, &config);
    if (nrc == ncclInProgress || nrc == ncclSuccess)
        nrc = comm ? settle(comm, deadline) : ncclInternalError;
    if (nrc != ncclSuccess) {
        snprintf(why, len, "%s while building the communicator (%s)",
                 nrc == ncclInProgress ? "timed out" : ncclGetErrorString(nrc),
                 comm ? ncclGetLastError(comm) : "no communicator");
        goto out;
    }
    t0 = now();
    /* Two warm-up all-reduces set up the connections; then the timed ones. */
    for (unsigned i = 0; i < p->iterations + 2; i++) {
        if (i == 2) {
            if ((crc = cudaStreamSynchronize(stream)) != cudaSuccess) {
                snprintf(why, len, "warm-up all-reduce: %s", cudaGetErrorString(crc));
                goto out;
            }
            t0 = now();
        }
        nrc = ncclAllReduce(buf, buf, count, ncclFloat, ncclSum, comm, stream);
        if (nrc == ncclInProgress)
            nrc = settle(comm, deadline);
        if (nrc != ncclSuccess) {
            snprintf(why, len, "all-reduce %s",
                     nrc == ncclInProgress ? "timed out" : ncclGetErrorString(nrc));
            goto out;
        }
    }
    while ((crc = cudaStreamQuery(stream)) == cudaErrorNotReady && now() < deadline)
        if (settle(comm, deadline) != ncclSuccess)
            break;
    if (crc != cudaSuccess) {
        snprintf(why, len, "all-reduce %s",
                 crc == cudaErrorNotReady ? "timed out" : cudaGetErrorString(crc));
        goto out;
    }
    p->seconds = (now() - t0) / p->iterations;
    p->busbw = (double)p->bytes / p->seconds * 2.0 * (p->size - 1) / p->size / 1e9;
    rc = 0;
out:
    if (comm) {
        if (rc == 0)
            ncclCommDestroy(comm);
        else
            ncclCommAbort(comm);
    }
    if (buf)
        cudaFree(buf);
    if (stream)
        cudaStreamDestroy(stream);
    return rc;
}

__attribute__((visibility("default"))) const struct zr_nccl_module zr_nccl_module_v1 = {
    .device_count = device_count,
    .unique_id = unique_id,
    .preflight = preflight,
};
