/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The users' SPANK option values (spank/options.c) and what the plugin decides from them
 * (spank/policy.c). Fields 0-3: --zenith-gang, -bind, -mem, -hugepages on the command line
 * ("" not given, "=V" given as V, "=" given without a value); fields 4-7: ZENITH_GANG, _BIND,
 * _MEM, _HUGEPAGES ("" unset); field 8: plugstack arguments split at spaces; the first byte of
 * field 9: the step's facts (bit 0 batch, 1 --cpu-bind, 2 --mem-bind, 3 whole node).
 * ZN_FUZZ_SOURCES: spank/settings.c spank/options.c spank/policy.c
 * ZN_FUZZ_MAX_LEN: 512 */
#include "config.h"

#include <stdio.h>

#include "runtime/error.h"
#include "spank/options.h"
#include "spank/policy.h"
#include "spank/settings.h"
#include "tests/fuzz/fuzz.h"

#define ENV_FIELD   4
#define CONF_FIELD  8
#define FACTS_FIELD 9

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static bool read_field(void *ctx, const char *name, char *buf, size_t len)
{
    const struct zf_fields *f = ctx;

    for (size_t i = 0; i < ZN_OPT_COUNT; i++) {
        const char *v = zf_get(f, ENV_FIELD + i);

        if (strcmp(name, zn_options[i].env) == 0 && v && *v) {
            snprintf(buf, len, "%s", v);
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f, conf = {0};
    struct zn_option_values cli = {0};
    struct zn_spank_config cfg;
    struct zn_request_opts opts;
    struct zn_step_facts facts = {0};
    struct zn_decision decision;
    struct zn_error err;
    char *words = NULL;

    if (zf_split(data, size, FACTS_FIELD + 1, &f) < 0)
        goto out;
    for (size_t i = 0; i < ZN_OPT_COUNT; i++) {
        const char *v = zf_get(&f, i);

        if (v && v[0] == '=') {
            cli.given[i] = true;
            cli.value[i] = (char *)v + 1;
        }
    }
    /* Plugstack arguments as Slurm splits them: at spaces. */
    words = strdup(zf_get(&f, CONF_FIELD) ? zf_get(&f, CONF_FIELD) : "");
    conf.field = calloc(64, sizeof(*conf.field));
    if (!words || !conf.field)
        goto out;
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && conf.count < 63;
         w = strtok_r(NULL, " ", &save))
        conf.field[conf.count++] = w;
    if (zn_spank_config_parse((int)conf.count, conf.field, &cfg, &err) < 0)
        zn_spank_config_parse(0, conf.field, &cfg, &err);
    if (zn_spank_resolve_options(&cli, read_field, &f, &cfg, &opts, &err) == 0) {
        unsigned bits = zf_get(&f, FACTS_FIELD) ? (unsigned char)zf_get(&f, FACTS_FIELD)[0] : 0;

        facts.batch = bits & 1;
        facts.user_cpu_bind = bits & 2;
        facts.user_mem_bind = bits & 4;
        facts.whole_node = bits & 8;
        zn_option_node_request(&opts);
        zn_spank_decide(&cfg, &opts, &facts, &decision);
    }
    for (size_t i = 0; i < ZN_OPT_COUNT; i++) {
        struct zn_request_opts one = {0};
        const char *v = zf_get(&f, ENV_FIELD + i);

        if (v && (*v || zn_options[i].optional_value))
            zn_option_set(&one, (enum zn_option_id)i, zn_options[i].env, v, &err);
    }
out:
    free(conf.field);
    free(words);
    zf_free(&f);
    return 0;
}
