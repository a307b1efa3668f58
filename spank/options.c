/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "runtime/parse.h"
#include "select/core/gang.h"
#include "spank/options.h"

const struct zn_option_spec zn_options[ZN_OPT_COUNT] = {
    [ZN_OPT_GANG] = {"zenith-gang", NULL,
                     "Zenith gang job: all nodes start together, packed into the tightest "
                     "topology domain (one node, NVLink block, leaf switch). N: gang size in "
                     "nodes. Not Slurm's time-slicing gang scheduling.",
                     "ZENITH_GANG", true},
    [ZN_OPT_BIND] = {"zenith-bind", "auto|gpu|numa|socket|core|none[,verbose]",
                     "Zenith task placement: pin each task near its GPU (auto), NUMA node, "
                     "socket, own cores, or not at all; verbose prints the binding report.",
                     "ZENITH_BIND", false},
    [ZN_OPT_MEM] = {"zenith-mem", "local|interleave|bind|none|hbm|prefer-hbm",
                    "Zenith NUMA memory policy of each task (default: local when bound).",
                    "ZENITH_MEM", false},
    [ZN_OPT_HUGEPAGES] = {"zenith-hugepages", "SIZE[:PAGESIZE]",
                          "Zenith: reserve SIZE of huge pages per node (e.g. 8G or 4G:1G) on the "
                          "NUMA nodes of the node's tasks for the job's lifetime.",
                          "ZENITH_HUGEPAGES", false},
    [ZN_OPT_GANG_WAIT] = {"zenith-gang-wait", "SECONDS",
                          "Zenith gang job: wait up to SECONDS for one leaf switch (or tighter) "
                          "before spanning switches; 0 takes the first fit. Default: the site's "
                          "(zenith_gang_leaf_wait).",
                          "ZENITH_GANG_WAIT", false},
};

int zn_option_set(struct zn_request_opts *opts, enum zn_option_id id, const char *what,
                  const char *value, struct zn_error *err)
{
    const struct zn_option_spec *spec = &zn_options[id];

    if (!value || !*value) {
        if (!spec->optional_value)
            return zn_fail(err, "%s needs a value (%s)", what, spec->arginfo);
        value = NULL;
    }
    switch (id) {
    case ZN_OPT_GANG:
        /* No value (or "job", its environment form): the gang is the whole job. */
        opts->gang = 0;
        if (value && strcmp(value, "job") != 0 &&
            zn_parse_count(what, value, 65536, &opts->gang, err) < 0)
            return -1;
        break;
    case ZN_OPT_BIND:
        if (zn_bind_option_parse(what, value, &opts->bind, &opts->verbose, err) < 0)
            return -1;
        opts->bind_mode_given = value[0] != ',';
        break;
    case ZN_OPT_MEM:
        if (zn_mem_parse(what, value, &opts->mem, err) < 0)
            return -1;
        break;
    case ZN_OPT_HUGEPAGES:
        if (zn_hugepages_parse(what, value, &opts->hugepage_bytes, &opts->hugepage_size, err) < 0)
            return -1;
        break;
    case ZN_OPT_GANG_WAIT:
        /* The site's maximum is job_submit's to enforce: it is in slurm.conf, not here. */
        if (zn_parse_seconds(what, value, ZN_GANG_LEAF_WAIT_LIMIT, &opts->gang_wait, err) < 0)
            return -1;
        break;
    default:
        return zn_fail(err, "unknown option %d", (int)id);
    }
    opts->given[id] = true;
    snprintf(opts->source[id], sizeof(opts->source[id]), "%s", what);
    return 0;
}

int zn_option_check_limits(const struct zn_request_opts *opts, const struct zn_spank_config *cfg,
                           struct zn_error *err)
{
    if (opts->given[ZN_OPT_HUGEPAGES] && cfg->hugepages_max &&
        opts->hugepage_bytes > cfg->hugepages_max) {
        char asked[32], max[32];
        zn_format_size(opts->hugepage_bytes, asked, sizeof(asked));
        zn_format_size(cfg->hugepages_max, max, sizeof(max));
        return zn_fail(err,
                       "%s=%s is more than this site allows per node (%s, hugepages_max in "
                       "plugstack.conf); ask for %s or less",
                       opts->source[ZN_OPT_HUGEPAGES], asked, max, max);
    }
    return 0;
}

bool zn_option_node_request(const struct zn_request_opts *opts)
{
    return opts->given[ZN_OPT_BIND] || opts->given[ZN_OPT_MEM] || opts->given[ZN_OPT_HUGEPAGES];
}

int zn_spank_resolve_options(const struct zn_option_values *cli, zn_env_reader read, void *ctx,
                             const struct zn_spank_config *cfg, struct zn_request_opts *out,
                             struct zn_error *err)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < ZN_OPT_COUNT; i++) {
        char what[64], buf[256];
        const char *value = NULL;

        if (cli->given[i]) {
            snprintf(what, sizeof(what), "--%s", zn_options[i].name);
            value = cli->value[i];
        } else if (read(ctx, zn_options[i].env, buf, sizeof(buf))) {
            snprintf(what, sizeof(what), "%s", zn_options[i].env);
            value = buf;
        } else {
            continue;
        }
        if (zn_option_set(out, (enum zn_option_id)i, what, value, err) < 0)
            return -1;
    }
    return zn_option_check_limits(out, cfg, err);
}
