/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host list expansion written for the placement core so that it needs nothing from Slurm. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select/core/hostlist.h"

#define ZN_HOST_NAME_MAX 256
#define ZN_HOSTLIST_MAX  (1u << 20) /* hosts in one range or list: far above any real cluster */

struct expand {
    const char *what;
    const char *expr;
    zn_host_fn each;
    void *arg;
    struct zn_error *err;
    uint64_t hosts; /* names given to each so far */
};

static int bad(struct expand *x, const char *why)
{
    return zn_fail(x->err, "%s: bad host list \"%s\": %s; write names like n[01-16],gpu1", x->what,
                   x->expr, why);
}

/* Expand one name pattern (no top-level commas) of length len starting at pat, with the
 * already expanded prefix in name[0..used). */
static int expand_pattern(struct expand *x, const char *pat, size_t len, char *name, size_t used)
{
    const char *open = memchr(pat, '[', len);
    size_t plain = open ? (size_t)(open - pat) : len;

    if (memchr(pat, ']', plain))
        return bad(x, "']' without '['");
    if (used + plain >= ZN_HOST_NAME_MAX)
        return bad(x, "host name too long");
    memcpy(name + used, pat, plain);
    used += plain;
    if (!open) {
        name[used] = '\0';
        if (used == 0)
            return bad(x, "empty host name");
        /* Brackets multiply ("a[1-999]b[1-999]c[1-999]" is 10^9 names in 22 bytes): without a
         * bound on the whole expression one line of topology.conf would hold slurmctld for
         * hours (found by tests/fuzz/fuzz_cluster_topology). */
        if (++x->hosts > ZN_HOSTLIST_MAX)
            return bad(x, "more than 1048576 hosts");
        return x->each(name, x->arg);
    }

    const char *close = memchr(open, ']', len - plain);
    if (!close)
        return bad(x, "'[' without ']'");
    const char *rest = close + 1;
    size_t rest_len = len - (size_t)(rest - pat);
    const char *p = open + 1;
    if (p == close)
        return bad(x, "empty brackets");
    while (p < close) {
        const char *start = p;
        uint64_t lo, hi;
        int width;

        if (*p < '0' || *p > '9')
            return bad(x, "brackets take numbers and ranges like [1-4,7]");
        while (p < close && *p >= '0' && *p <= '9')
            p++;
        width = (int)(p - start);
        if (width > 18)
            return bad(x, "number too long");
        lo = strtoull(start, NULL, 10);
        hi = lo;
        if (p < close && *p == '-') {
            const char *hs = ++p;
            while (p < close && *p >= '0' && *p <= '9')
                p++;
            if (p == hs || p - hs > 18)
                return bad(x, "a range needs an end number");
            hi = strtoull(hs, NULL, 10);
            if (hi < lo)
                return bad(x, "a range ends below its start");
            if (hi - lo >= ZN_HOSTLIST_MAX)
                return bad(x, "range too large");
        }
        if (p < close) {
            if (*p != ',')
                return bad(x, "brackets take numbers and ranges like [1-4,7]");
            p++;
            if (p == close)
                return bad(x, "trailing ',' in brackets");
        }
        /* Zero padding only when the written start has a leading zero, as Slurm does. */
        if (start[0] != '0' || width == 1)
            width = 0;
        for (uint64_t v = lo; v <= hi; v++) {
            int n = snprintf(name + used, ZN_HOST_NAME_MAX - used, "%0*llu", width,
                             (unsigned long long)v);
            int rc;

            if (n < 0 || used + (size_t)n >= ZN_HOST_NAME_MAX)
                return bad(x, "host name too long");
            rc = expand_pattern(x, rest, rest_len, name, used + (size_t)n);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int zn_hostlist_each(const char *what, const char *expr, zn_host_fn each, void *arg,
                     struct zn_error *err)
{
    struct expand x = {what, expr, each, arg, err, 0};
    char name[ZN_HOST_NAME_MAX];
    const char *p = expr;

    if (!expr || !*expr)
        return bad(&x, "empty");
    while (*p) {
        const char *start = p;
        int depth = 0;
        int rc;

        /* A comma inside brackets belongs to the range list, not the host list. */
        while (*p && (depth > 0 || *p != ',')) {
            if (*p == '[' && ++depth > 1)
                return bad(&x, "nested '['");
            if (*p == ']')
                depth--;
            p++;
        }
        if (p == start)
            return bad(&x, "empty host name");
        rc = expand_pattern(&x, start, (size_t)(p - start), name, 0);
        if (rc != 0)
            return rc;
        if (*p == ',' && !*++p)
            return bad(&x, "trailing ','");
    }
    return 0;
}
