/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dataset.h"

/* Shard lists are written the way WebDataset (Python's braceexpand) and the shell take them:
 * {000..127} (zero padding kept when an end is written with a leading zero, either direction),
 * {a,b,c} (empty items allowed), several groups multiplied out with the leftmost varying
 * slowest. Nesting, steps and letter ranges are refused rather than half supported: a wrong
 * shard list silently trains on the wrong data. */

/* Beyond 18 digits a range end would not fit a uint64_t with room to count. */
#define RANGE_DIGITS_MAX 18

struct group {
    const char *literal; /* the text before the group (not NUL-terminated) */
    size_t literal_len;
    bool is_range;
    uint64_t first, last; /* range */
    int width;            /* range: zero-padded width, 0 for none */
    char **items;         /* list */
    size_t count;
};

static void free_groups(struct group *groups, size_t ngroups)
{
    for (size_t g = 0; g < ngroups; g++) {
        for (size_t i = 0; groups[g].items && i < groups[g].count; i++)
            free(groups[g].items[i]);
        free(groups[g].items);
    }
    free(groups);
}

static bool parse_number(const char *s, size_t len, uint64_t *value)
{
    uint64_t v = 0;

    if (len == 0 || len > RANGE_DIGITS_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *value = v;
    return true;
}

/* body/len: the text between the braces. */
static int parse_group(const char *pattern, const char *body, size_t len, struct group *g,
                       struct zn_error *err)
{
    const char *dots = NULL;

    if (memchr(body, ',', len)) {
        size_t n = 1;
        for (size_t i = 0; i < len; i++)
            n += body[i] == ',';
        g->items = calloc(n, sizeof(*g->items));
        if (!g->items)
            return zn_fail(err, "out of memory expanding %s", pattern);
        for (const char *p = body, *end = body + len; g->count < n; g->count++) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            size_t item_len = comma ? (size_t)(comma - p) : (size_t)(end - p);
            g->items[g->count] = strndup(p, item_len);
            if (!g->items[g->count])
                return zn_fail(err, "out of memory expanding %s", pattern);
            p += item_len + 1;
        }
        return 0;
    }
    for (size_t i = 0; i + 1 < len; i++) {
        if (body[i] == '.' && body[i + 1] == '.') {
            dots = body + i;
            break;
        }
    }
    if (dots) {
        const char *b = dots + 2;
        size_t a_len = (size_t)(dots - body), b_len = len - a_len - 2;

        if (parse_number(body, a_len, &g->first) && parse_number(b, b_len, &g->last)) {
            bool padded = (a_len > 1 && body[0] == '0') || (b_len > 1 && b[0] == '0');
            g->is_range = true;
            g->width = padded ? (int)(a_len > b_len ? a_len : b_len) : 0;
            g->count = (g->first > g->last ? g->first - g->last : g->last - g->first) + 1;
            return 0;
        }
    }
    return zn_fail(err,
                   "shard pattern %s: {%.*s} is neither a range of whole numbers such as "
                   "{000..127} nor a list such as {a,b}",
                   pattern, (int)len, body);
}

/* Splits pattern into groups; the text after the last group is groups[ngroups].literal. */
static struct group *parse_pattern(const char *pattern, size_t *ngroups, struct zn_error *err)
{
    struct group *groups = NULL;
    size_t n = 0;
    const char *p = pattern;

    for (;;) {
        const char *open = strpbrk(p, "{}");
        struct group *grown = realloc(groups, (n + 1) * sizeof(*groups));

        if (!grown) {
            zn_fail(err, "out of memory expanding %s", pattern);
            goto bad;
        }
        groups = grown;
        memset(&groups[n], 0, sizeof(groups[n]));
        groups[n].literal = p;
        if (!open) {
            groups[n].literal_len = strlen(p);
            *ngroups = n;
            return groups;
        }
        if (*open == '}') {
            zn_fail(err, "shard pattern %s: '}' at position %zu closes no '{'", pattern,
                    (size_t)(open - pattern));
            goto bad;
        }
        groups[n].literal_len = (size_t)(open - p);
        const char *close = strpbrk(open + 1, "{}");
        if (!close) {
            zn_fail(err, "shard pattern %s: '{' at position %zu is never closed", pattern,
                    (size_t)(open - pattern));
            goto bad;
        }
        if (*close == '{') {
            zn_fail(err,
                    "shard pattern %s: nested braces at position %zu are not supported; write "
                    "the groups one after another, e.g. {train,val}-{000..009}.tar",
                    pattern, (size_t)(close - pattern));
            goto bad;
        }
        n++;
        if (parse_group(pattern, open + 1, (size_t)(close - open - 1), &groups[n - 1], err) < 0)
            goto bad;
        p = close + 1;
    }
bad:
    free_groups(groups, n);
    return NULL;
}

static int append(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = (*len + n + 1) * 2;
        char *grown = realloc(*out, ncap);
        if (!grown)
            return -1;
        *out = grown;
        *cap = ncap;
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
    return 0;
}

/* The name at position `index` of the product, leftmost group slowest. */
static char *make_name(const struct group *groups, size_t ngroups, size_t index)
{
    size_t picks[64], len = 0, cap = 0;
    char *name = NULL;

    for (size_t g = ngroups; g-- > 0;) {
        picks[g] = index % groups[g].count;
        index /= groups[g].count;
    }
    if (append(&name, &len, &cap, "", 0) < 0)
        return NULL;
    for (size_t g = 0; g <= ngroups; g++) {
        if (append(&name, &len, &cap, groups[g].literal, groups[g].literal_len) < 0)
            goto bad;
        if (g == ngroups)
            break;
        if (groups[g].is_range) {
            char number[32];
            uint64_t v = groups[g].first <= groups[g].last ? groups[g].first + picks[g]
                                                           : groups[g].first - picks[g];
            int n = snprintf(number, sizeof(number), "%0*" PRIu64, groups[g].width, v);
            if (append(&name, &len, &cap, number, (size_t)n) < 0)
                goto bad;
        } else if (append(&name, &len, &cap, groups[g].items[picks[g]],
                          strlen(groups[g].items[picks[g]])) < 0) {
            goto bad;
        }
    }
    return name;
bad:
    free(name);
    return NULL;
}

char **zn_brace_expand(const char *pattern, size_t limit, size_t *count, struct zn_error *err)
{
    struct group *groups = NULL;
    size_t ngroups = 0, total = 1, made = 0;
    char **names = NULL;

    *count = 0;
    if (!pattern || !*pattern) {
        zn_fail(err, "the shard pattern is empty; give a file or a list such as "
                     "DIR/train-{000..127}.tar");
        return NULL;
    }
    groups = parse_pattern(pattern, &ngroups, err);
    if (!groups)
        return NULL;
    if (ngroups > 64) {
        zn_fail(err, "shard pattern %s has %zu brace groups; at most 64 are supported", pattern,
                ngroups);
        goto out;
    }
    for (size_t g = 0; g < ngroups; g++) {
        if (groups[g].count > limit || total > limit / groups[g].count) {
            zn_fail(err,
                    "shard pattern %s names more than %zu files; is a range too wide (check "
                    "its ends)?",
                    pattern, limit);
            goto out;
        }
        total *= groups[g].count;
    }
    if (total > limit) {
        zn_fail(err, "shard pattern %s names more than %zu files", pattern, limit);
        goto out;
    }
    names = calloc(total, sizeof(*names));
    if (!names) {
        zn_fail(err, "out of memory expanding %s into %zu names", pattern, total);
        goto out;
    }
    for (made = 0; made < total; made++) {
        names[made] = make_name(groups, ngroups, made);
        if (!names[made]) {
            zn_fail(err, "out of memory expanding %s into %zu names", pattern, total);
            zn_brace_free(names, made);
            names = NULL;
            goto out;
        }
    }
    *count = total;
out:
    free_groups(groups, ngroups);
    return names;
}

void zn_brace_free(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
