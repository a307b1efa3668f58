/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy words users write (--zenith-bind, --zenith-mem, --zenith-hugepages, plugstack
 * bind=, ZENITH_* variables, zenith-run and zenith-plan options) and their one parser each. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "runtime/parse.h"
#include "runtime/policy.h"

static const char *const bind_names[] = {
    [ZN_BIND_AUTO] = "auto",     [ZN_BIND_GPU] = "gpu",   [ZN_BIND_NUMA] = "numa",
    [ZN_BIND_SOCKET] = "socket", [ZN_BIND_CORE] = "core", [ZN_BIND_NONE] = "none",
};
static const char *const mem_names[] = {
    [ZN_MEM_DEFAULT] = "default",
    [ZN_MEM_LOCAL] = "local",
    [ZN_MEM_INTERLEAVE] = "interleave",
    [ZN_MEM_BIND] = "bind",
    [ZN_MEM_NONE] = "none",
    [ZN_MEM_HBM] = "hbm",
    [ZN_MEM_PREFER_HBM] = "prefer-hbm",
};

const char *zn_bind_name(enum zn_bind bind)
{
    return bind_names[bind];
}

const char *zn_mem_name(enum zn_mem mem)
{
    return mem_names[mem];
}

int zn_bind_parse(const char *what, const char *text, enum zn_bind *out, struct zn_error *err)
{
    for (size_t i = 0; i < sizeof(bind_names) / sizeof(bind_names[0]); i++) {
        if (text && strcmp(text, bind_names[i]) == 0) {
            *out = (enum zn_bind)i;
            return 0;
        }
    }
    return zn_fail(err, "%s=%s is not a bind mode; use auto, gpu, numa, socket, core or none", what,
                   text ? text : "");
}

int zn_bind_option_parse(const char *what, const char *text, enum zn_bind *bind, bool *verbose,
                         struct zn_error *err)
{
    char mode[32];
    const char *comma = strchr(text, ',');
    size_t len = comma ? (size_t)(comma - text) : strlen(text);

    *verbose = false;
    if (comma) {
        if (strcmp(comma + 1, "verbose") != 0)
            return zn_fail(
                err, "%s: '%s' is not a flag (the only flag is 'verbose', as in %s=gpu,verbose)",
                what, comma + 1, what);
        *verbose = true;
    }
    if (len == 0 && comma) {
        /* ",verbose" alone keeps the default mode: only the report is asked for. */
        *bind = ZN_BIND_AUTO;
        return 0;
    }
    if (len >= sizeof(mode))
        len = sizeof(mode) - 1;
    memcpy(mode, text, len);
    mode[len] = '\0';
    return zn_bind_parse(what, mode, bind, err);
}

int zn_mem_parse(const char *what, const char *text, enum zn_mem *out, struct zn_error *err)
{
    /* "default" is internal: users choose one of the policies or leave the option out. */
    for (size_t i = ZN_MEM_LOCAL; i < sizeof(mem_names) / sizeof(mem_names[0]); i++) {
        if (text && strcmp(text, mem_names[i]) == 0) {
            *out = (enum zn_mem)i;
            return 0;
        }
    }
    return zn_fail(err,
                   "%s=%s is not a memory policy; use local, interleave, bind, none, hbm or "
                   "prefer-hbm",
                   what, text ? text : "");
}

int zn_hugepages_parse(const char *what, const char *text, uint64_t *bytes, uint64_t *page_size,
                       struct zn_error *err)
{
    char total[64];
    const char *colon = text ? strchr(text, ':') : NULL;
    size_t len = colon ? (size_t)(colon - text) : (text ? strlen(text) : 0);

    if (!text || len == 0 || len >= sizeof(total))
        return zn_fail(err,
                       "%s=%s is not a huge page request (expected SIZE or SIZE:PAGESIZE, "
                       "e.g. 8G or 4G:1G)",
                       what, text ? text : "");
    memcpy(total, text, len);
    total[len] = '\0';
    if (zn_parse_size(what, total, bytes, err) < 0)
        return -1;
    *page_size = 0;
    if (colon) {
        if (zn_parse_size(what, colon + 1, page_size, err) < 0)
            return -1;
        if (*page_size & (*page_size - 1))
            return zn_fail(err, "%s=%s: page size %s is not a power of two", what, text, colon + 1);
    }
    return 0;
}
