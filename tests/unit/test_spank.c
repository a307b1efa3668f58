/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SPANK plugin's policy: plugstack arguments, option values, and what a step gets. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spank/ledger.h"
#include "spank/options.h"
#include "spank/policy.h"
#include "spank/settings.h"
#include "tests/unit/testutil.h"

static int parse_args(const char *a, const char *b, struct zn_spank_config *cfg,
                      struct zn_error *err)
{
    char *argv[2] = {(char *)a, (char *)b};
    return zn_spank_config_parse((a != NULL) + (b != NULL), argv, cfg, err);
}

#define ASSERT_REFUSED(a, b, needle)                                                               \
    do {                                                                                           \
        struct zn_spank_config c_;                                                                 \
        struct zn_error e_;                                                                        \
        ck_assert_int_eq(parse_args(a, b, &c_, &e_), -1);                                          \
        ck_assert_msg(strstr(e_.text, needle) && strncmp(e_.text, "zenith: ", 8) == 0,             \
                      "message '%s' lacks '%s'", e_.text, needle);                                 \
    } while (0)

START_TEST(plugstack_defaults_and_values)
{
    struct zn_spank_config cfg;
    struct zn_error err;
    char path[64];

    ck_assert_int_eq(parse_args(NULL, NULL, &cfg, &err), 0);
    ck_assert_int_eq(cfg.bind, ZN_BIND_AUTO);
    ck_assert_int_eq(cfg.mem, ZN_MEM_DEFAULT);
    ck_assert(!cfg.verbose && !cfg.exclusive_only && !cfg.default_off && !cfg.report_only);
    ck_assert_str_eq(cfg.topology, ZN_DEFAULT_TOPOLOGY);
    ck_assert_str_eq(cfg.state_dir, ZN_DEFAULT_STATE_DIR);
    ck_assert_uint_eq(cfg.hugepages_max, 0);

    ck_assert_msg(parse_args("bind=numa,verbose", "hugepages_max=16G", &cfg, &err) == 0, "%s",
                  err.text);
    ck_assert_int_eq(cfg.bind, ZN_BIND_NUMA);
    ck_assert(cfg.verbose);
    ck_assert_uint_eq(cfg.hugepages_max, 16ULL << 30);

    ck_assert_int_eq(parse_args("topology=/var/lib/zenith/%n.xml", "report_only", &cfg, &err), 0);
    ck_assert(cfg.report_only);
    ck_assert_int_eq(zn_topology_path(cfg.topology, "gpu17", path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, "/var/lib/zenith/gpu17.xml");
    ck_assert_int_eq(parse_args("topology=/t/100%%/%n", NULL, &cfg, &err), 0);
    ck_assert_int_eq(zn_topology_path(cfg.topology, "a", path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, "/t/100%/a");
    ck_assert_int_eq(zn_topology_path(cfg.topology, "a-very-long-node-name-that-does-not-fit-in-it",
                                      path, 20, &err),
                     -1);
}
END_TEST

START_TEST(plugstack_refusals_name_the_argument)
{
    ASSERT_REFUSED("bind=fast", NULL, "bind=fast is not a bind mode");
    ASSERT_REFUSED("bind=gpu,loud", NULL, "'loud' is not a flag");
    ASSERT_REFUSED("mem=near", NULL, "mem=near is not a memory policy");
    ASSERT_REFUSED("hugepages_max=lots", NULL, "hugepages_max");
    ASSERT_REFUSED("topology=relative.xml", NULL, "topology=relative.xml: give an absolute path");
    ASSERT_REFUSED("colour=blue", NULL, "'colour=blue' is unknown");
    ASSERT_REFUSED("exclusive_only=yes", NULL, "'exclusive_only=yes' takes no value");
    ASSERT_REFUSED("bind", NULL, "'bind' needs a value");
    ASSERT_REFUSED("state_dir=", NULL, "'state_dir=' needs a value");
    ASSERT_REFUSED("bind=gpu", "bind=numa", "'bind' is given twice");
}
END_TEST

START_TEST(option_values)
{
    struct zn_request_opts o = {0};
    struct zn_error err;

    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_BIND, "--zenith-bind", "core,verbose", &err), 0);
    ck_assert(o.given[ZN_OPT_BIND] && o.verbose && o.bind == ZN_BIND_CORE);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_BIND, "--zenith-bind", ",verbose", &err), 0);
    ck_assert(o.verbose && o.bind == ZN_BIND_AUTO);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_MEM, "ZENITH_MEM", "interleave", &err), 0);
    ck_assert_int_eq(o.mem, ZN_MEM_INTERLEAVE);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_HUGEPAGES, "--zenith-hugepages", "4G:1G", &err), 0);
    ck_assert_uint_eq(o.hugepage_bytes, 4ULL << 30);
    ck_assert_uint_eq(o.hugepage_size, 1ULL << 30);
    /* --zenith-gang alone (NULL here, "" when it reaches slurmstepd) is the whole job. */
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_GANG, "--zenith-gang", NULL, &err), 0);
    ck_assert(o.given[ZN_OPT_GANG] && o.gang == 0);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_GANG, "--zenith-gang", "", &err), 0);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_GANG, "ZENITH_GANG", "job", &err), 0);
    ck_assert_uint_eq(o.gang, 0);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_GANG, "--zenith-gang", "4", &err), 0);
    ck_assert_uint_eq(o.gang, 4);
    ck_assert(zn_option_node_request(&o));
    struct zn_request_opts gang_only = {0};
    ck_assert_int_eq(zn_option_set(&gang_only, ZN_OPT_GANG, "--zenith-gang", "2", &err), 0);
    ck_assert(!zn_option_node_request(&gang_only));
    ck_assert_int_eq(zn_option_set(&gang_only, ZN_OPT_GANG_WAIT, "--zenith-gang-wait", "0", &err),
                     0);
    ck_assert(gang_only.given[ZN_OPT_GANG_WAIT] && gang_only.gang_wait == 0);
    ck_assert_int_eq(zn_option_set(&gang_only, ZN_OPT_GANG_WAIT, "ZENITH_GANG_WAIT", "300", &err),
                     0);
    ck_assert_uint_eq(gang_only.gang_wait, 300);
    ck_assert(!zn_option_node_request(&gang_only));
}
END_TEST

#define ASSERT_OPTION_REFUSED(id, what, value, needle)                                             \
    do {                                                                                           \
        struct zn_request_opts o_ = {0};                                                           \
        struct zn_error e_;                                                                        \
        ck_assert_int_eq(zn_option_set(&o_, id, what, value, &e_), -1);                            \
        ck_assert_msg(strstr(e_.text, needle), "message '%s' lacks '%s'", e_.text, needle);        \
        ck_assert(!o_.given[id]);                                                                  \
    } while (0)

START_TEST(option_refusals_name_option_and_value)
{
    ASSERT_OPTION_REFUSED(ZN_OPT_BIND, "--zenith-bind", "close", "--zenith-bind=close");
    ASSERT_OPTION_REFUSED(ZN_OPT_BIND, "ZENITH_BIND", "gpu,quiet", "ZENITH_BIND: 'quiet'");
    ASSERT_OPTION_REFUSED(ZN_OPT_BIND, "--zenith-bind", "", "--zenith-bind needs a value");
    ASSERT_OPTION_REFUSED(ZN_OPT_MEM, "--zenith-mem", "firsttouch", "--zenith-mem=firsttouch");
    ASSERT_OPTION_REFUSED(ZN_OPT_HUGEPAGES, "--zenith-hugepages", "8X", "--zenith-hugepages");
    ASSERT_OPTION_REFUSED(ZN_OPT_HUGEPAGES, "--zenith-hugepages", "8G:3M", "power of two");
    ASSERT_OPTION_REFUSED(ZN_OPT_GANG, "--zenith-gang", "0", "--zenith-gang");
    ASSERT_OPTION_REFUSED(ZN_OPT_GANG, "--zenith-gang", "-3", "--zenith-gang");
    ASSERT_OPTION_REFUSED(ZN_OPT_GANG_WAIT, "--zenith-gang-wait", "2min",
                          "--zenith-gang-wait=2min is not a number of seconds");
    ASSERT_OPTION_REFUSED(ZN_OPT_GANG_WAIT, "ZENITH_GANG_WAIT", "604801",
                          "ZENITH_GANG_WAIT=604801");
    ASSERT_OPTION_REFUSED(ZN_OPT_GANG_WAIT, "--zenith-gang-wait", "", "needs a value");
}
END_TEST

START_TEST(hugepages_limit)
{
    struct zn_spank_config cfg;
    struct zn_request_opts o = {0};
    struct zn_error err;

    ck_assert_int_eq(parse_args("hugepages_max=1G", NULL, &cfg, &err), 0);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_HUGEPAGES, "--zenith-hugepages", "1G", &err), 0);
    ck_assert_int_eq(zn_option_check_limits(&o, &cfg, &err), 0);
    ck_assert_int_eq(zn_option_set(&o, ZN_OPT_HUGEPAGES, "--zenith-hugepages", "2G", &err), 0);
    ck_assert_int_eq(zn_option_check_limits(&o, &cfg, &err), -1);
    ck_assert_msg(strstr(err.text, "--zenith-hugepages=2G is more than this site allows per "
                                   "node (1G, hugepages_max"),
                  "%s", err.text);
}
END_TEST

static struct zn_decision decide(const char *arg, struct zn_request_opts *o,
                                 struct zn_step_facts facts)
{
    struct zn_spank_config cfg;
    struct zn_error err;
    struct zn_decision d;

    ck_assert_msg(parse_args(arg, NULL, &cfg, &err) == 0, "%s", err.text);
    zn_spank_decide(&cfg, o, &facts, &d);
    return d;
}

START_TEST(decisions)
{
    struct zn_request_opts none = {0}, bind = {0}, mem = {0}, pages = {0};
    struct zn_error err;
    struct zn_decision d;

    ck_assert_int_eq(zn_option_set(&bind, ZN_OPT_BIND, "b", "numa,verbose", &err), 0);
    ck_assert_int_eq(zn_option_set(&mem, ZN_OPT_MEM, "m", "bind", &err), 0);
    ck_assert_int_eq(zn_option_set(&pages, ZN_OPT_HUGEPAGES, "h", "64M", &err), 0);

    /* Defaults act on every step, quietly, and a failure then never stops the job. */
    d = decide(NULL, &none, (struct zn_step_facts){0});
    ck_assert(d.plan && d.apply && !d.reserve && !d.verbose && !d.strict);
    ck_assert_int_eq(d.policy.bind, ZN_BIND_AUTO);
    ck_assert_str_eq(d.why, "");

    /* Asked by name: verbose from the option, strict. */
    d = decide("bind=core", &bind, (struct zn_step_facts){0});
    ck_assert(d.plan && d.apply && d.verbose && d.strict);
    ck_assert_int_eq(d.policy.bind, ZN_BIND_NUMA);

    d = decide("default_off", &none, (struct zn_step_facts){0});
    ck_assert(!d.plan);
    ck_assert_msg(strstr(d.why, "default_off"), "%s", d.why);
    d = decide("default_off", &pages, (struct zn_step_facts){0});
    ck_assert(d.plan && d.reserve && d.strict);
    ck_assert_uint_eq(d.policy.hugepage_bytes, 64ULL << 20);

    d = decide("exclusive_only", &bind, (struct zn_step_facts){.whole_node = false});
    ck_assert(!d.plan);
    ck_assert_msg(strstr(d.why, "exclusive_only"), "%s", d.why);
    d = decide("exclusive_only", &bind, (struct zn_step_facts){.whole_node = true});
    ck_assert(d.plan);

    d = decide("report_only", &pages, (struct zn_step_facts){0});
    ck_assert(d.plan && !d.apply && !d.reserve);
    ck_assert_msg(strstr(d.why, "report_only"), "%s", d.why);

    /* srun --cpu-bind wins over the site default, not over --zenith-bind. */
    d = decide(NULL, &none, (struct zn_step_facts){.user_cpu_bind = true, .user_mem_bind = true});
    ck_assert_int_eq(d.policy.bind, ZN_BIND_NONE);
    ck_assert_int_eq(d.policy.mem, ZN_MEM_NONE);
    ck_assert_msg(strstr(d.why, "srun --cpu-bind wins") && strstr(d.why, "srun --mem-bind wins"),
                  "%s", d.why);
    /* ",verbose" alone asks for the report, not for a mode: --cpu-bind still wins. */
    struct zn_request_opts report = {0};
    ck_assert_int_eq(zn_option_set(&report, ZN_OPT_BIND, "b", ",verbose", &err), 0);
    d = decide(NULL, &report, (struct zn_step_facts){.user_cpu_bind = true});
    ck_assert(d.verbose);
    ck_assert_int_eq(d.policy.bind, ZN_BIND_NONE);
    d = decide(NULL, &bind, (struct zn_step_facts){.user_cpu_bind = true});
    ck_assert_int_eq(d.policy.bind, ZN_BIND_NUMA);
    ck_assert_msg(strstr(d.why, "overrides srun --cpu-bind"), "%s", d.why);
    d = decide(NULL, &mem, (struct zn_step_facts){.user_cpu_bind = true, .user_mem_bind = true});
    ck_assert_int_eq(d.policy.bind, ZN_BIND_NONE);
    ck_assert_int_eq(d.policy.mem, ZN_MEM_BIND);

    /* The batch script itself is never pinned, but may hold the job's huge pages. */
    d = decide("bind=core", &pages, (struct zn_step_facts){.batch = true});
    ck_assert(d.plan && d.reserve && !d.apply);
    ck_assert_int_eq(d.policy.bind, ZN_BIND_NONE);
    ck_assert_int_eq(d.policy.mem, ZN_MEM_NONE);
}
END_TEST

static bool read_table(void *ctx, const char *name, char *buf, size_t len)
{
    for (const char *const *kv = ctx; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0 && kv[1][0]) {
            snprintf(buf, len, "%s", kv[1]);
            return true;
        }
    return false;
}

/* The command line wins over the ZENITH_* forms, an empty variable is not given, and the
 * message names where a bad value came from. No Slurm: srun and slurmstepd differ only in the
 * reader. */
START_TEST(options_resolved_from_cli_and_environment)
{
    const char *env[] = {"ZENITH_BIND",      "numa", "ZENITH_MEM", "interleave",
                         "ZENITH_HUGEPAGES", "",     NULL};
    const char *bad_env[] = {"ZENITH_MEM", "near", NULL};
    char bind[] = "core,verbose", gang[] = "";
    struct zn_option_values cli = {0};
    struct zn_spank_config cfg;
    struct zn_request_opts o;
    struct zn_error err;

    ck_assert_int_eq(parse_args("hugepages_max=1G", NULL, &cfg, &err), 0);
    ck_assert_msg(zn_spank_resolve_options(&cli, read_table, env, &cfg, &o, &err) == 0, "%s",
                  err.text);
    ck_assert(o.given[ZN_OPT_BIND] && o.bind == ZN_BIND_NUMA && !o.verbose);
    ck_assert(o.given[ZN_OPT_MEM] && o.mem == ZN_MEM_INTERLEAVE);
    ck_assert(!o.given[ZN_OPT_HUGEPAGES] && !o.given[ZN_OPT_GANG]);

    cli.value[ZN_OPT_BIND] = bind;
    cli.given[ZN_OPT_BIND] = true;
    cli.value[ZN_OPT_GANG] = gang; /* --zenith-gang without a value */
    cli.given[ZN_OPT_GANG] = true;
    ck_assert_int_eq(zn_spank_resolve_options(&cli, read_table, env, &cfg, &o, &err), 0);
    ck_assert(o.bind == ZN_BIND_CORE && o.verbose);
    ck_assert(o.given[ZN_OPT_GANG] && o.gang == 0);

    ck_assert_int_eq(zn_spank_resolve_options(&cli, read_table, bad_env, &cfg, &o, &err), -1);
    ck_assert_msg(strstr(err.text, "ZENITH_MEM=near is not a memory policy"), "%s", err.text);
    const char *big[] = {"ZENITH_HUGEPAGES", "2G", NULL};
    ck_assert_int_eq(zn_spank_resolve_options(&cli, read_table, big, &cfg, &o, &err), -1);
    /* Named as the user gave it: the variable, not an option they never typed. */
    ck_assert_msg(strstr(err.text, "zenith: ZENITH_HUGEPAGES=2G is more than this site allows") &&
                      strstr(err.text, "hugepages_max"),
                  "%s", err.text);
}
END_TEST

/* The reservation (slurmstepd) and the release (epilog) find the same record. */
START_TEST(hugepage_ledger_and_key)
{
    char *argv[] = {"state_dir=/run/zenith-test"};
    char key[300], want[300], host[256] = "";
    struct zn_hugepage_ledger ledger;
    struct zn_error err;

    ck_assert_str_eq(zn_spank_settings()->state_dir, ZN_DEFAULT_STATE_DIR);
    ck_assert_int_eq(zn_spank_settings_load(1, argv, &err), 0);
    ledger = zn_spank_ledger();
    ck_assert_str_eq(ledger.state_dir, "/run/zenith-test");
    ck_assert_str_eq(ledger.sysfs_root, "/sys");
    char *bad[] = {"state_dir=relative"};
    ck_assert_int_eq(zn_spank_settings_load(1, bad, &err), -1);
    ck_assert_str_eq(zn_spank_ledger().state_dir, "/run/zenith-test"); /* kept */

    gethostname(host, sizeof(host) - 1);
    snprintf(want, sizeof(want), "4242.%s", host);
    zn_spank_hugepage_key(4242, key, sizeof(key));
    ck_assert_str_eq(key, want);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("spank");
    tcase_add_test(tc, plugstack_defaults_and_values);
    tcase_add_test(tc, plugstack_refusals_name_the_argument);
    tcase_add_test(tc, option_values);
    tcase_add_test(tc, option_refusals_name_option_and_value);
    tcase_add_test(tc, hugepages_limit);
    tcase_add_test(tc, decisions);
    tcase_add_test(tc, options_resolved_from_cli_and_environment);
    tcase_add_test(tc, hugepage_ledger_and_key);
    return test_run("spank", tc);
}
