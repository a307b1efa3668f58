/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "runtime/parse.h"
#include "spank/settings.h"
#include "spank/options.h"

#define WHERE "plugstack.conf argument"

static void defaults(struct zn_spank_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bind = ZN_BIND_AUTO;
    cfg->mem = ZN_MEM_DEFAULT;
    snprintf(cfg->topology, sizeof(cfg->topology), "%s", ZN_DEFAULT_TOPOLOGY);
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", ZN_DEFAULT_STATE_DIR);
}

static int path_value(const char *key, const char *value, char *out, size_t len,
                      struct zn_error *err)
{
    if (value[0] != '/')
        return zn_fail(err, WHERE " %s=%s: give an absolute path", key, value);
    if (strlen(value) >= len)
        return zn_fail(err, WHERE " %s=: the path is too long", key);
    snprintf(out, len, "%s", value);
    return 0;
}

int zn_spank_config_parse(int argc, char *const argv[], struct zn_spank_config *cfg,
                          struct zn_error *err)
{
    static const char *const keys[] = {"bind",        "mem",         "hugepages_max",
                                       "topology",    "state_dir",   "exclusive_only",
                                       "default_off", "report_only", NULL};
    bool seen[sizeof(keys) / sizeof(keys[0])] = {false};

    defaults(cfg);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t keylen = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : NULL;
        char what[64];
        int k;

        for (k = 0; keys[k]; k++)
            if (strlen(keys[k]) == keylen && strncmp(arg, keys[k], keylen) == 0)
                break;
        if (!keys[k])
            return zn_fail(err,
                           WHERE " '%s' is unknown; known: bind=, mem=, hugepages_max=, "
                                 "topology=, state_dir=, exclusive_only, default_off, report_only",
                           arg);
        if (seen[k])
            return zn_fail(err, WHERE " '%s' is given twice; keep one", keys[k]);
        seen[k] = true;
        snprintf(what, sizeof(what), WHERE " %s", keys[k]);

        bool is_flag = k >= 5;
        if (is_flag && value)
            return zn_fail(err, WHERE " '%s' takes no value; write just %s", arg, keys[k]);
        if (!is_flag && (!value || !*value))
            return zn_fail(err, WHERE " '%s' needs a value, as in %s=...", arg, keys[k]);

        switch (k) {
        case 0:
            if (zn_bind_option_parse(what, value, &cfg->bind, &cfg->verbose, err) < 0)
                return -1;
            break;
        case 1:
            if (zn_mem_parse(what, value, &cfg->mem, err) < 0)
                return -1;
            break;
        case 2:
            if (zn_parse_size(what, value, &cfg->hugepages_max, err) < 0)
                return -1;
            break;
        case 3:
            if (path_value(keys[k], value, cfg->topology, sizeof(cfg->topology), err) < 0)
                return -1;
            break;
        case 4:
            if (path_value(keys[k], value, cfg->state_dir, sizeof(cfg->state_dir), err) < 0)
                return -1;
            break;
        case 5:
            cfg->exclusive_only = true;
            break;
        case 6:
            cfg->default_off = true;
            break;
        case 7:
            cfg->report_only = true;
            break;
        }
    }
    return 0;
}

static struct zn_spank_config settings;
static bool settings_loaded;

int zn_spank_settings_load(int argc, char *const argv[], struct zn_error *err)
{
    struct zn_spank_config parsed;

    if (zn_spank_config_parse(argc, argv, &parsed, err) < 0)
        return -1;
    settings = parsed;
    settings_loaded = true;
    return 0;
}

const struct zn_spank_config *zn_spank_settings(void)
{
    if (!settings_loaded) {
        defaults(&settings);
        settings_loaded = true;
    }
    return &settings;
}
