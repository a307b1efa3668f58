/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SPANK entry points: parse the site's settings, register the options, and hand each
 * callback to the file for its context (local.c, remote.c, jobscript.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spank/zenith.h"

SPANK_PLUGIN(zenith, 1);

struct zn_spank zn_spank;

static int option_cb(int val, const char *optarg, int remote)
{
    struct zn_error err;
    struct zn_request_opts scratch = {0};
    char what[64];

    if (val < 0 || val >= ZN_OPT_COUNT)
        return -1;
    snprintf(what, sizeof(what), "--%s", zn_options[val].name);
    /* Refuse a bad value where the user typed it; remotely it was already accepted. */
    if (!remote && zn_option_set(&scratch, (enum zn_option_id)val, what, optarg, &err) < 0) {
        slurm_error("%s", err.text);
        return -1;
    }
    free(zn_spank.cli[val]);
    zn_spank.cli[val] = strdup(optarg ? optarg : "");
    zn_spank.cli_given[val] = true;
    return zn_spank.cli[val] ? 0 : -1;
}

static int register_options(spank_t sp)
{
    for (int i = 0; i < ZN_OPT_COUNT; i++) {
        struct spank_option opt = {
            .name = (char *)zn_options[i].name,
            .arginfo = (char *)(zn_options[i].arginfo ? zn_options[i].arginfo : "N"),
            .usage = (char *)zn_options[i].usage,
            .has_arg = zn_options[i].optional_value ? 2 : 1,
            .val = i,
            .cb = option_cb,
        };
        if (spank_option_register(sp, &opt) != ESPANK_SUCCESS) {
            slurm_error("zenith: cannot register --%s; is another plugin using that name?",
                        zn_options[i].name);
            return -1;
        }
    }
    return 0;
}

static int load_config(int ac, char **av)
{
    struct zn_error err;

    if (zn_spank_config_parse(ac, av, &zn_spank.cfg, &err) < 0) {
        slurm_error("%s (fix the zenith line in plugstack.conf)", err.text);
        return -1;
    }
    return 0;
}

int zn_spank_resolve_options(spank_t sp, bool remote, struct zn_error *err)
{
    memset(&zn_spank.opts, 0, sizeof(zn_spank.opts));
    for (int i = 0; i < ZN_OPT_COUNT; i++) {
        char what[64], buf[256];
        const char *value = NULL;

        if (zn_spank.cli_given[i]) {
            snprintf(what, sizeof(what), "--%s", zn_options[i].name);
            value = zn_spank.cli[i];
        } else if (remote) {
            if (spank_getenv(sp, zn_options[i].env, buf, sizeof(buf)) == ESPANK_SUCCESS && buf[0])
                value = buf;
            snprintf(what, sizeof(what), "%s", zn_options[i].env);
        } else {
            value = getenv(zn_options[i].env);
            if (value && !*value)
                value = NULL;
            snprintf(what, sizeof(what), "%s", zn_options[i].env);
        }
        if (!value && !zn_spank.cli_given[i])
            continue;
        if (zn_option_set(&zn_spank.opts, (enum zn_option_id)i, what, value, err) < 0)
            return -1;
    }
    return zn_option_check_limits(&zn_spank.opts, &zn_spank.cfg, err);
}

struct zn_hugepage_ledger zn_spank_ledger(void)
{
    return (struct zn_hugepage_ledger){.sysfs_root = "/sys", .state_dir = zn_spank.cfg.state_dir};
}

void zn_spank_hugepage_key(uint32_t jobid, char *key, size_t len)
{
    char host[256] = "";

    gethostname(host, sizeof(host) - 1);
    snprintf(key, len, "%u.%s", jobid, host);
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
    if (load_config(ac, av) < 0)
        return -1;
    switch (spank_context()) {
    case S_CTX_LOCAL:
    case S_CTX_ALLOCATOR:
    case S_CTX_REMOTE:
        return register_options(sp);
    default:
        return 0;
    }
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    switch (spank_context()) {
    case S_CTX_LOCAL:
    case S_CTX_ALLOCATOR:
        return zn_local_init_post_opt(sp);
    case S_CTX_REMOTE:
        return zn_remote_init_post_opt(sp);
    default:
        return 0;
    }
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    return spank_remote(sp) ? zn_remote_task_init(sp) : 0;
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
    /* slurm_spank_init does not run before the epilog: read the settings here. */
    if (load_config(ac, av) < 0)
        return -1;
    return zn_jobscript_epilog(sp);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    if (spank_remote(sp))
        zn_remote_exit();
    for (int i = 0; i < ZN_OPT_COUNT; i++) {
        free(zn_spank.cli[i]);
        zn_spank.cli[i] = NULL;
    }
    return 0;
}
