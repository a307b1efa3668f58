/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A C consumer of the data service, for the integration tests: attaches to the arena zenith-run
 * handed over, takes every batch, checks each token window against the file's formula (token t
 * is t % 65521, as the test writes it), writes the sample ids it got to OUT.RANK and prints its
 * stats. DP_CHECK_SLEEP=S: after the first batch, hold it and sleep S seconds (for the tests
 * that kill the job while it holds shared memory). Exits 1 on any mismatch or error. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataplane.h"
#include "runtime/dataset.h"

#define MOD 65521u

static int check_window(const struct zn_dp_shared *h, const struct zn_dp_view *v, uint32_t i)
{
    const struct zn_dp_sample *s = &v->samples[i];
    const uint16_t *tok = (const uint16_t *)(v->data + s->offset);
    uint32_t n = h->seq_len; /* tokens per sample */
    uint64_t first = s->id * (n - 1);

    if (s->length != (uint64_t)n * 2 || s->offset + s->length > v->bytes) {
        fprintf(stderr, "dp_check: sample %llu: %llu bytes at %llu, wanted %u\n",
                (unsigned long long)s->id, (unsigned long long)s->length,
                (unsigned long long)s->offset, n * 2);
        return -1;
    }
    for (uint32_t t = 0; t < n; t++)
        if (tok[t] != (first + t) % MOD) {
            fprintf(stderr, "dp_check: sample %llu token %u is %u, wanted %llu\n",
                    (unsigned long long)s->id, t, tok[t], (unsigned long long)((first + t) % MOD));
            return -1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    struct zn_error err = {{0}};
    struct zn_dp_consumer *c;
    const struct zn_dp_shared *h;
    struct zn_dp_view v;
    struct zn_dp_stats st;
    const char *rank = getenv("RANK"), *nap = getenv("DP_CHECK_SLEEP");
    char name[4096];
    FILE *out;
    int rc, code = 1;
    uint64_t batches = 0;

    if (argc != 2 || !rank) {
        fprintf(stderr, "usage: zenith-run --data SPEC dp_check OUT (writes OUT.$RANK)\n");
        return 2;
    }
    snprintf(name, sizeof(name), "%s.%s", argv[1], rank);
    out = fopen(name, "w");
    if (!out) {
        perror(name);
        return 1;
    }
    c = zn_dp_attach(-1, &err);
    if (!c) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    h = zn_dp_header(c);
    while ((rc = zn_dp_next(c, &v, 60ll * 1000000000, &err)) == 1) {
        for (uint32_t i = 0; i < v.batch->samples; i++) {
            if (h->format == ZN_FORMAT_TOKENS && check_window(h, &v, i) < 0)
                goto out;
            fprintf(out, "%llu %llu\n", (unsigned long long)v.batch->epoch,
                    (unsigned long long)v.samples[i].id);
        }
        if (v.batch->seq != batches++) {
            fprintf(stderr, "dp_check: batch %llu came as number %llu\n",
                    (unsigned long long)v.batch->seq, (unsigned long long)batches - 1);
            goto out;
        }
        if (nap && batches == 1) {
            fflush(out);
            printf("dp_check: rank %s holds a batch and sleeps\n", rank);
            fflush(stdout);
            sleep((unsigned)atoi(nap));
        }
        if (zn_dp_release(c, &v, &err) < 0)
            goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.text);
        goto out;
    }
    zn_dp_stats(c, &st);
    printf("dp_check: rank %s: %llu batches, %llu samples, %.0f samples/s, stall %.3f s, "
           "skipped %llu; %s; %s\n",
           rank, (unsigned long long)st.batches, (unsigned long long)st.samples, st.samples_per_s,
           st.stall_s, (unsigned long long)st.skipped, h->backing, h->reader);
    code = 0;
out:
    if (fclose(out) != 0)
        code = 1;
    zn_dp_detach(c);
    return code;
}
