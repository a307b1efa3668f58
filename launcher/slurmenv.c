/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "launcher/slurmenv.h"
#include "runtime/parse.h"

int zr_tasks_on_node(const char *what, const char *text, unsigned node, unsigned *out,
                     struct zn_error *err)
{
    const char *p = text ? text : "";
    uint64_t seen = 0;

    if (!*p)
        goto bad;
    while (*p) {
        uint64_t tasks, repeat = 1;

        if (zn_parse_digits(&p, &tasks) < 0 || tasks == 0)
            goto bad;
        if (strncmp(p, "(x", 2) == 0) {
            p += 2;
            if (zn_parse_digits(&p, &repeat) < 0 || repeat == 0 || *p++ != ')')
                goto bad;
        }
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            goto bad;
        if (node < seen + repeat) {
            *out = (unsigned)tasks;
            return 0;
        }
        seen += repeat;
    }
    return zn_fail(err, "%s=%s names %llu nodes, but this is node %u of the step", what, text,
                   (unsigned long long)seen, node);
bad:
    return zn_fail(err, "%s=%s is not a Slurm tasks-per-node list such as 2(x3),1", what,
                   text ? text : "");
}

int zr_first_host(const char *what, const char *list, char *buf, size_t len, struct zn_error *err)
{
    const char *p = list ? list : "";
    size_t used = 0;

    /* Copy the first host: text outside brackets as is, the first value of each bracket. */
    while (*p && *p != ',') {
        size_t n;
        const char *from = p;

        if (*p == '[') {
            from = ++p;
            n = strcspn(p, ",-]");
            p = strchr(p, ']');
            if (!p || n == 0)
                goto bad;
            p++;
        } else {
            n = strcspn(p, ",[");
            p += n;
        }
        if (used + n >= len)
            goto bad;
        memcpy(buf + used, from, n);
        used += n;
    }
    if (used == 0)
        goto bad;
    buf[used] = '\0';
    return 0;
bad:
    return zn_fail(err, "%s=%s is not a Slurm host list such as zn[1-4]", what, list ? list : "");
}
