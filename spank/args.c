/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plugstack arguments and the command-line options, as SPANK hands them over. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spank/args.h"

static struct zn_option_values cli;

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
    free(cli.value[val]);
    cli.value[val] = strdup(optarg ? optarg : "");
    cli.given[val] = true;
    return cli.value[val] ? 0 : -1;
}

int zn_args_register(spank_t sp)
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

int zn_args_load_settings(int ac, char **av)
{
    struct zn_error err;

    if (zn_spank_settings_load(ac, av, &err) < 0) {
        slurm_error("%s (fix the zenith line in plugstack.conf)", err.text);
        return -1;
    }
    return 0;
}

const struct zn_option_values *zn_args_cli(void)
{
    return &cli;
}

void zn_args_free(void)
{
    for (int i = 0; i < ZN_OPT_COUNT; i++) {
        free(cli.value[i]);
        cli.value[i] = NULL;
        cli.given[i] = false;
    }
}
