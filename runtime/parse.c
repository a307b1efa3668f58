/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/parse.h"

int zn_parse_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t value = 0;

    if (!isdigit((unsigned char)*s))
        return -1;
    while (isdigit((unsigned char)*s)) {
        unsigned digit = (unsigned)(*s - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return -1;
        value = value * 10 + digit;
        s++;
    }
    *p = s;
    *out = value;
    return 0;
}

int zn_parse_index_list_within(const char *what, const char *text, unsigned max_index,
                               uint64_t *beyond, unsigned **out, size_t *count,
                               struct zn_error *err)
{
    unsigned *list = NULL;
    /* One bit per possible index: the duplicate check stays linear however long the list. */
    uint64_t *seen = NULL;
    size_t n = 0, cap = 0;
    const char *p = text;
    int rc = -1;

    *out = NULL;
    *count = 0;
    *beyond = 0;
    if (!text || !*text) {
        zn_fail(err, "%s is empty; give indices like 0-3,6", what);
        goto out;
    }
    seen = calloc((size_t)max_index / 64 + 1, sizeof(*seen));
    if (!seen) {
        zn_fail(err, "%s: out of memory", what);
        goto out;
    }
    while (*p) {
        uint64_t first, last;

        if (zn_parse_digits(&p, &first) < 0)
            goto bad;
        last = first;
        if (*p == '-') {
            p++;
            if (zn_parse_digits(&p, &last) < 0)
                goto bad;
            if (last < first) {
                zn_fail(err, "%s=%s: range %" PRIu64 "-%" PRIu64 " runs backwards", what, text,
                        first, last);
                goto out;
            }
        }
        if (last > max_index) {
            *beyond = first > max_index ? first : (uint64_t)max_index + 1; /* the first one */
            zn_fail(err, "%s=%s: index %" PRIu64 " is out of range (highest is %u)", what, text,
                    *beyond, max_index);
            goto out;
        }
        for (uint64_t v = first; v <= last; v++) {
            if (seen[v / 64] & (UINT64_C(1) << (v % 64))) {
                zn_fail(err, "%s=%s: index %" PRIu64 " is listed twice", what, text, v);
                goto out;
            }
            seen[v / 64] |= UINT64_C(1) << (v % 64);
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                unsigned *grown = realloc(list, ncap * sizeof(*list));
                if (!grown) {
                    zn_fail(err, "%s: out of memory", what);
                    goto out;
                }
                list = grown;
                cap = ncap;
            }
            list[n++] = (unsigned)v;
        }
        if (*p == ',') {
            p++;
            if (!*p)
                goto bad;
        } else if (*p) {
            goto bad;
        }
    }
    *out = list;
    *count = n;
    list = NULL;
    rc = 0;
    goto out;
bad:
    zn_fail(err, "%s=%s is not a list of indices (expected e.g. 0-3,6)", what, text);
out:
    free(seen);
    free(list);
    return rc;
}

int zn_parse_index_list(const char *what, const char *text, unsigned max_index, unsigned **out,
                        size_t *count, struct zn_error *err)
{
    uint64_t beyond;

    return zn_parse_index_list_within(what, text, max_index, &beyond, out, count, err);
}

int zn_parse_count(const char *what, const char *text, unsigned max, unsigned *out,
                   struct zn_error *err)
{
    const char *p = text;
    uint64_t value;

    if (!text || zn_parse_digits(&p, &value) < 0 || *p)
        return zn_fail(err, "%s=%s is not a positive whole number", what, text ? text : "");
    if (value == 0 || value > max)
        return zn_fail(err, "%s=%s is out of range (1-%u)", what, text, max);
    *out = (unsigned)value;
    return 0;
}

int zn_parse_seconds(const char *what, const char *text, unsigned max, unsigned *out,
                     struct zn_error *err)
{
    const char *p = text;
    uint64_t value;

    if (!text || zn_parse_digits(&p, &value) < 0 || *p || value > max)
        return zn_fail(err, "%s=%s is not a number of seconds from 0 to %u; give e.g. %s=120", what,
                       text ? text : "", max, what);
    *out = (unsigned)value;
    return 0;
}

int zn_parse_size(const char *what, const char *text, uint64_t *out, struct zn_error *err)
{
    const char *p = text;
    uint64_t value;
    unsigned shift = 0;

    if (!text || zn_parse_digits(&p, &value) < 0)
        goto bad;
    switch (toupper((unsigned char)*p)) {
    case '\0':
        break;
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    default:
        goto bad;
    }
    if (shift) {
        p++;
        if (strcasecmp(p, "") != 0 && strcasecmp(p, "B") != 0 && strcasecmp(p, "iB") != 0)
            goto bad;
    }
    if (value == 0)
        return zn_fail(err, "%s=%s: the size must be greater than 0", what, text);
    if (value > (UINT64_MAX >> shift))
        return zn_fail(err, "%s=%s is too large", what, text);
    *out = (uint64_t)value << shift;
    return 0;
bad:
    return zn_fail(err, "%s=%s is not a size (expected e.g. 512M, 8G or 1T)", what,
                   text ? text : "");
}

void zn_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGT";
    int unit = -1;

    while (unit < 3 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    if (unit < 0)
        snprintf(buf, len, "%" PRIu64, bytes);
    else
        snprintf(buf, len, "%" PRIu64 "%c", bytes, units[unit]);
}
