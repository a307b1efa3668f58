/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Slurm-free placement core: host lists, topology.conf, the gang and packing policy, the
 * gang request's validation, stamp and priority. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "select/core/cluster.h"
#include "select/core/estimate.h"
#include "select/core/gang.h"
#include "select/core/hostlist.h"
#include "select/core/place.h"
#include "tests/unit/testutil.h"

#define ck_error_mentions(err, needle)                                                             \
    ck_assert_msg(strstr((err).text, needle) != NULL, "'%s' does not mention '%s'", (err).text,    \
                  needle)

static int collect(const char *name, void *arg)
{
    char *buf = arg;

    if (*buf)
        strcat(buf, " ");
    strcat(buf, name);
    return 0;
}

static const char *expand(const char *expr)
{
    static char buf[4096];
    static struct zn_error err;

    buf[0] = '\0';
    if (zn_hostlist_each("Nodes", expr, collect, buf, &err) != 0)
        return err.text;
    return buf;
}

START_TEST(hostlists_expand_as_slurm_writes_them)
{
    ck_assert_str_eq(expand("n1"), "n1");
    ck_assert_str_eq(expand("n[1-3],gpu7"), "n1 n2 n3 gpu7");
    ck_assert_str_eq(expand("n[08-10]"), "n08 n09 n10");
    ck_assert_str_eq(expand("n[1-2,5]x"), "n1x n2x n5x");
    ck_assert_str_eq(expand("r[1-2]n[1-2]"), "r1n1 r1n2 r2n1 r2n2");
    ck_assert_str_eq(expand("n[0]"), "n0");
}
END_TEST

START_TEST(hostlists_refuse_nonsense)
{
    static const struct {
        const char *expr, *needle;
    } bad[] = {
        {"", "empty"},
        {"n[1-", "without ']'"},
        {"n1]", "without '['"},
        {"n[]", "empty brackets"},
        {"n[3-1]", "below its start"},
        {"n[a]", "numbers"},
        {"n[1,]", "trailing"},
        {"n1,", "trailing"},
        {",n1", "empty host"},
        {"n[[1]]", "nested"},
        {"n[1-2000000]", "too large"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zn_error err;
        char buf[4096] = "";

        ck_assert_int_eq(zn_hostlist_each("Nodes", bad[i].expr, collect, buf, &err), -1);
        ck_error_mentions(err, bad[i].needle);
        ck_error_mentions(err, "Nodes");
    }
}
END_TEST

static int count_host(const char *name, void *arg)
{
    (*(size_t *)arg)++;
    return 0;
}

/* Found by tests/fuzz/fuzz_cluster_topology: ranges multiply, so a short expression could name
 * billions of hosts and hold slurmctld for hours. The bound is on the whole expression. */
START_TEST(hostlists_bound_the_product_of_ranges)
{
    struct zn_error err;
    size_t n = 0;

    ck_assert_int_eq(zn_hostlist_each("Nodes", "r[1-1024]n[1-1024]", count_host, &n, &err), 0);
    ck_assert_uint_eq(n, 1u << 20);
    n = 0;
    ck_assert_int_eq(zn_hostlist_each("Nodes", "a[1-999]b[1-999]c[1-999]", count_host, &n, &err),
                     -1);
    ck_error_mentions(err, "more than 1048576 hosts");
    ck_error_mentions(err, "Nodes");
    ck_assert_uint_eq(n, 1u << 20);
    n = 0;
    ck_assert_int_eq(zn_hostlist_each("Nodes", "r[1-1024]n[1-1024],x1", count_host, &n, &err), -1);
    ck_error_mentions(err, "more than 1048576 hosts");
}
END_TEST

/* n1..n<count> with the given free GPUs (8 each in all). */
static struct zn_cluster *cluster_of(size_t count, const unsigned *free_gpus)
{
    struct zn_cluster *c = zn_cluster_new();
    struct zn_error err;

    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%zu", i + 1);
        ck_assert_int_eq(zn_cluster_add_node(c, name, 8, free_gpus ? free_gpus[i] : 8, &err),
                         (long)i);
    }
    return c;
}

static void load(struct zn_cluster *c, const char *text)
{
    struct zn_error err;

    ck_assert_msg(zn_cluster_load_topology(c, text, "topology.conf", &err) == 0, "%s", err.text);
}

static const char *names(const struct zn_cluster *c, const struct zn_candidate *cand)
{
    static char buf[1024];

    buf[0] = '\0';
    for (size_t i = 0; i < cand->count; i++)
        collect(c->nodes[cand->nodes[i]].name, buf);
    return buf;
}

START_TEST(topology_conf_builds_the_switch_tree)
{
    struct zn_cluster *c = cluster_of(8, NULL);

    load(c, "# two leaves under one spine\n"
            "SwitchName=leaf1 Nodes=n[1-4] LinkSpeed=100\n"
            "switchname=leaf2 nodes=n[5-8],ghost[1-3]\n"
            "SwitchName=spine \\\n"
            "   Switches=leaf[1-2]\n");
    ck_assert_uint_eq(c->switch_count, 3);
    ck_assert_uint_eq(c->top_level, 1);
    ck_assert_uint_eq(c->unknown_nodes, 3);
    ck_assert_str_eq(c->switches[2].domain.name, "spine");
    ck_assert_uint_eq(c->switches[2].level, 1);
    ck_assert_uint_eq(c->switches[2].domain.node_count, 8);
    ck_assert_int_eq(c->switches[0].parent, 2);
    ck_assert_int_eq(c->switches[2].parent, -1);
    ck_assert_int_eq(c->nodes[4].leaf, 1);
    ck_assert_uint_eq(c->switches[1].domain.node_count, 4);
    ck_assert_uint_eq(c->switches[1].domain.nodes[0], 4);
    ck_assert_int_eq(zn_cluster_find_node(c, "n7"), 6);
    ck_assert_int_eq(zn_cluster_find_node(c, "n9"), -1);
    zn_cluster_free(c);
}
END_TEST

START_TEST(topology_conf_refuses_what_slurmctld_refuses)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"SwitchName=a Nodes=n1\nSwitchName=a Nodes=n2\n",
         "topology.conf:2: switch a is defined twice"},
        {"SwitchName=a Nodes=n1 Switches=b\n", "both Nodes= and Switches="},
        {"SwitchName=a LinkSpeed=1\n", "neither Nodes= nor Switches="},
        {"SwitchName=a Switches=b\n", "lists switch b, which is not defined"},
        {"SwitchName=a Nodes=n1\nSwitchName=b Switches=a\nSwitchName=c Switches=a\n",
         "two parents"},
        {"SwitchName=a Switches=b\nSwitchName=b Switches=a\n", "loop"},
        {"SwitchName=a Switches=a\n", "lists itself"},
        {"SwitchName=a Nodes=n1\nSwitchName=b Nodes=n[1-2]\n",
         "node n1 is under leaf switches a and b"},
        {"SwitchName=a Nodes=n1 Speed=3\n", "unknown key Speed"},
        {"SwitchName=a Nodes=n1 junk\n", "\"junk\" is not KEY=VALUE"},
        {"Nodes=n1\n", "without SwitchName"},
        {"SwitchName=a Nodes=n[1-\n", "bad host list"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zn_cluster *c = cluster_of(2, NULL);
        struct zn_error err;

        ck_assert_int_eq(zn_cluster_load_topology(c, bad[i].text, "topology.conf", &err), -1);
        ck_error_mentions(err, bad[i].needle);
        ck_error_mentions(err, "zenith: ");
        /* Nothing of the bad file stays: a good one loads after it. */
        ck_assert_uint_eq(c->switch_count, 0);
        ck_assert_int_eq(c->nodes[0].leaf, -1);
        load(c, "SwitchName=s Nodes=n[1-2]\n");
        ck_assert_uint_eq(c->switches[0].domain.node_count, 2);
        zn_cluster_free(c);
    }
}
END_TEST

/* Found by tests/fuzz/fuzz_cluster_topology: a leaf that lists only nodes slurmctld does not
 * know is kept empty (and counted), as Slurm does, without sorting a list that is not there. */
START_TEST(topology_conf_leaf_of_unknown_nodes)
{
    struct zn_cluster *c = cluster_of(2, NULL);

    load(c, "SwitchName=a Nodes=n[1-2]\nSwitchName=b Nodes=other[1-3]\n"
            "SwitchName=top Switches=a,b\n");
    ck_assert_uint_eq(c->switch_count, 3);
    ck_assert_uint_eq(c->unknown_nodes, 3);
    ck_assert_uint_eq(c->switches[1].domain.node_count, 0);
    ck_assert_uint_eq(c->switches[0].domain.node_count, 2);
    zn_cluster_free(c);
}
END_TEST

START_TEST(topology_file_errors_name_the_file)
{
    struct zn_cluster *c = cluster_of(2, NULL);
    struct zn_error err;
    char path[] = "/tmp/zenith-topo-XXXXXX";
    int fd = mkstemp(path);

    ck_assert_int_eq(zn_cluster_read_topology_file(c, "/nonexistent/topology.conf", &err), -1);
    ck_error_mentions(err, "/nonexistent/topology.conf");
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "SwitchName=s Nodes=n[1-2]\n\0junk", 32), 32);
    close(fd);
    ck_assert_int_eq(zn_cluster_read_topology_file(c, path, &err), -1);
    ck_error_mentions(err, "not a text file");
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, "SwitchName=s Nodes=n[1-2]\n", 26), 26);
    close(fd);
    ck_assert_msg(zn_cluster_read_topology_file(c, path, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(c->switches[0].domain.node_count, 2);
    unlink(path);
    zn_cluster_free(c);
}
END_TEST

START_TEST(cluster_refuses_bad_nodes)
{
    struct zn_cluster *c = cluster_of(1, NULL);
    struct zn_error err;

    ck_assert_int_eq(zn_cluster_add_node(c, "n1", 8, 8, &err), -1);
    ck_error_mentions(err, "twice");
    ck_assert_int_eq(zn_cluster_add_node(c, "n2", 4, 5, &err), -1);
    ck_error_mentions(err, "5 free GPUs but only 4");
    ck_assert_int_eq(zn_cluster_set_free(c, 0, 9, &err), -1);
    ck_assert_int_eq(zn_cluster_set_block(c, 0, "b1", &err), 0);
    ck_assert_int_eq(zn_cluster_set_block(c, 0, "b2", &err), -1);
    ck_error_mentions(err, "blocks b1 and b2");
    zn_cluster_free(c);
}
END_TEST

/* The scenario: two leaves of four 8-GPU nodes, n1 and n6 half busy. */
static struct zn_cluster *two_leaves(void)
{
    static const unsigned free_gpus[] = {4, 8, 8, 8, 8, 4, 8, 8};
    struct zn_cluster *c = cluster_of(8, free_gpus);

    load(c, "SwitchName=leaf1 Nodes=n[1-4]\nSwitchName=leaf2 Nodes=n[5-8]\n"
            "SwitchName=spine Switches=leaf[1-2]\n");
    return c;
}

static void place(const struct zn_cluster *c, const unsigned char *usable, unsigned nodes,
                  unsigned gpus, bool gang, size_t max, struct zn_placement *out)
{
    struct zn_job_request r = {.nodes = nodes, .gpus_per_node = gpus, .gang = gang};
    struct zn_error err;

    ck_assert_msg(zn_place(c, usable, &r, max, out, &err) == 0, "%s", err.text);
}

START_TEST(gang_stays_in_one_leaf_where_packing_spans_two)
{
    struct zn_cluster *c = two_leaves();
    struct zn_placement p;

    place(c, NULL, 2, 4, true, 8, &p);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_LEAF);
    /* Both leaves fit; each keeps 20 GPUs free: the tie goes to the first. Inside it the half
     * busy n1 is filled before an idle node is opened. */
    ck_assert_str_eq(p.list[0].where, "leaf1");
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n2");
    ck_assert_uint_eq(p.list[0].left_free, 20);
    ck_assert_str_eq(p.list[1].where, "leaf2");
    ck_assert_str_eq(names(c, &p.list[1]), "n5 n6");
    /* The spine's own choice would be leaf1's nodes again (it fills the fullest leaf first). */
    zn_placement_free(&p);

    place(c, NULL, 2, 4, false, 8, &p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_ANY);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n6");
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

START_TEST(gang_prefers_the_tighter_leaf)
{
    struct zn_cluster *c = two_leaves();
    struct zn_error err;
    struct zn_placement p;

    /* leaf1 now holds 4 + 0 + 8 + 8: the 2x8 job fits there with 4 left, leaf2 would leave 12. */
    ck_assert_int_eq(zn_cluster_set_free(c, 1, 0, &err), 0);
    place(c, NULL, 2, 8, true, 8, &p);
    ck_assert_str_eq(p.list[0].where, "leaf1");
    ck_assert_str_eq(names(c, &p.list[0]), "n3 n4");
    ck_assert_uint_eq(p.list[0].left_free, 4);
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

START_TEST(gang_falls_back_level_by_level)
{
    /* Four leaves of two nodes, two spines of two leaves, one top switch. */
    static const unsigned free_gpus[] = {8, 0, 0, 8, 8, 0, 0, 8};
    struct zn_cluster *c = cluster_of(8, free_gpus);
    struct zn_error err;
    struct zn_placement p;

    load(c, "SwitchName=l1 Nodes=n[1-2]\nSwitchName=l2 Nodes=n[3-4]\n"
            "SwitchName=l3 Nodes=n[5-6]\nSwitchName=l4 Nodes=n[7-8]\n"
            "SwitchName=s1 Switches=l[1-2]\nSwitchName=s2 Switches=l[3-4]\n"
            "SwitchName=top Switches=s[1-2]\n");
    ck_assert_uint_eq(c->top_level, 2);
    /* No leaf has two idle nodes; spine s1 has n1 and n4. */
    place(c, NULL, 2, 8, true, 8, &p);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_SPINE);
    ck_assert_uint_eq(p.list[0].level, 1);
    ck_assert_str_eq(p.list[0].where, "s1");
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n4");
    zn_placement_free(&p);
    /* Three idle nodes only under the top switch. */
    place(c, NULL, 3, 8, true, 8, &p);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_SPINE);
    ck_assert_uint_eq(p.list[0].level, 2);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n4 n5");
    zn_placement_free(&p);
    /* No switch tree at all: anywhere. */
    zn_cluster_free(c);
    c = cluster_of(4, free_gpus);
    place(c, NULL, 2, 8, true, 8, &p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_ANY);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n4");
    zn_placement_free(&p);
    /* More than exists: nothing now, not an error. */
    place(c, NULL, 3, 8, true, 8, &p);
    ck_assert_uint_eq(p.count, 0);
    zn_placement_free(&p);
    ck_assert_int_eq(zn_cluster_set_free(c, 1, 8, &err), 0);
    place(c, NULL, 3, 8, true, 8, &p);
    ck_assert_uint_eq(p.count, 1);
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

/* Two leaves of four nodes, one idle node in each (n1, n5): a 2x8 gang fits only across them. */
static struct zn_cluster *spine_only_now(void)
{
    static const unsigned free_gpus[] = {8, 0, 2, 0, 8, 0, 0, 4};
    struct zn_cluster *c = cluster_of(8, free_gpus);

    load(c, "SwitchName=leaf1 Nodes=n[1-4]\nSwitchName=leaf2 Nodes=n[5-8]\n"
            "SwitchName=spine Switches=leaf[1-2]\n");
    return c;
}

static void place_waiting(const struct zn_cluster *c, const unsigned char *usable, unsigned nodes,
                          unsigned leaf_wait, int64_t eligible_at, int64_t now, bool plan_ahead,
                          struct zn_placement *out)
{
    struct zn_job_request r = {.nodes = nodes,
                               .gpus_per_node = 8,
                               .gang = true,
                               .leaf_wait = leaf_wait,
                               .eligible_at = eligible_at,
                               .now = now,
                               .plan_ahead = plan_ahead};
    struct zn_error err;

    ck_assert_msg(zn_place(c, usable, &r, 8, out, &err) == 0, "%s", err.text);
}

START_TEST(gang_waits_for_a_leaf_then_takes_the_spine)
{
    struct zn_cluster *c = spine_only_now();
    struct zn_error err;
    struct zn_placement p;

    /* Eligible at 1000 with a 120 s wait: held back until 1120, not a second longer. */
    place_waiting(c, NULL, 2, 120, 1000, 1000, false, &p);
    ck_assert_uint_eq(p.count, 0);
    ck_assert_int_eq(p.wide_opens_at, 1120);
    zn_placement_free(&p);
    place_waiting(c, NULL, 2, 120, 1000, 1119, false, &p);
    ck_assert_uint_eq(p.count, 0);
    zn_placement_free(&p);
    place_waiting(c, NULL, 2, 120, 1000, 1120, false, &p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_SPINE);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n5");
    ck_assert_int_eq(p.list[0].opens_at, 0);
    ck_assert_int_eq(p.wide_opens_at, 0);
    zn_placement_free(&p);

    /* A leaf that frees within the wait is taken at once. */
    ck_assert_int_eq(zn_cluster_set_free(c, 2, 8, &err), 0);
    place_waiting(c, NULL, 2, 120, 1000, 1010, false, &p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_LEAF);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n3");
    ck_assert_int_eq(p.list[0].opens_at, 0);
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

START_TEST(backfill_sees_when_the_spine_opens)
{
    struct zn_cluster *c = spine_only_now();
    struct zn_error err;
    struct zn_placement p;

    place_waiting(c, NULL, 2, 120, 1000, 1030, true, &p);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_SPINE);
    ck_assert_int_eq(p.list[0].opens_at, 1120);
    ck_assert_int_eq(p.list[1].scope, ZN_SCOPE_ANY);
    ck_assert_int_eq(p.list[1].opens_at, 1120);
    ck_assert_int_eq(p.wide_opens_at, 1120);
    zn_placement_free(&p);
    /* A leaf open now comes first. The spine's own choice is the same two nodes; backfill
     * still gets the spine as a domain of its own, marked. */
    ck_assert_int_eq(zn_cluster_set_free(c, 2, 8, &err), 0);
    place_waiting(c, NULL, 2, 120, 1000, 1030, true, &p);
    ck_assert_uint_eq(p.count, 3);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_LEAF);
    ck_assert_int_eq(p.list[0].opens_at, 0);
    ck_assert_int_eq(p.list[1].scope, ZN_SCOPE_SPINE);
    ck_assert_str_eq(names(c, &p.list[1]), "n1 n3");
    ck_assert_int_eq(p.list[1].opens_at, 1120);
    ck_assert_int_eq(p.list[2].scope, ZN_SCOPE_ANY);
    ck_assert_int_eq(p.wide_opens_at, 1120);
    zn_placement_free(&p);
    /* Without plan_ahead the duplicate is dropped: cons_tres would test the same nodes twice. */
    place_waiting(c, NULL, 2, 0, 1000, 1030, false, &p);
    ck_assert_uint_eq(p.count, 1);
    zn_placement_free(&p);
    zn_cluster_free(c);

    /* Four leaves that all fit: backfill's last slot is still the whole cluster. */
    c = cluster_of(8, NULL);
    load(c, "SwitchName=l1 Nodes=n[1-2]\nSwitchName=l2 Nodes=n[3-4]\n"
            "SwitchName=l3 Nodes=n[5-6]\nSwitchName=l4 Nodes=n[7-8]\n"
            "SwitchName=top Switches=l[1-4]\n");
    struct zn_job_request r = {.nodes = 2, .gpus_per_node = 8, .gang = true, .plan_ahead = true};
    ck_assert_int_eq(zn_place(c, NULL, &r, 4, &p, &err), 0);
    ck_assert_uint_eq(p.count, 4);
    ck_assert_int_eq(p.list[2].scope, ZN_SCOPE_LEAF);
    ck_assert_int_eq(p.list[3].scope, ZN_SCOPE_ANY);
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

START_TEST(no_wait_where_waiting_cannot_help)
{
    struct zn_cluster *c = spine_only_now();
    unsigned char usable[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    struct zn_job_request packing = {
        .nodes = 2, .gpus_per_node = 8, .leaf_wait = 120, .eligible_at = 1000, .now = 1000};
    struct zn_error err;
    struct zn_placement p;

    /* No wait asked for. */
    place_waiting(c, NULL, 2, 0, 1000, 1000, false, &p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.wide_opens_at, 0);
    zn_placement_free(&p);
    /* Five nodes: no leaf has them, even idle. */
    ck_assert_int_eq(zn_cluster_set_free(c, 1, 8, &err), 0);
    ck_assert_int_eq(zn_cluster_set_free(c, 2, 8, &err), 0);
    ck_assert_int_eq(zn_cluster_set_free(c, 3, 8, &err), 0);
    ck_assert_int_eq(zn_cluster_set_free(c, 5, 8, &err), 0);
    place_waiting(c, NULL, 5, 120, 1000, 1000, false, &p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_SPINE);
    zn_placement_free(&p);
    /* The job may use only one node of each leaf (partition, features, exclusions). */
    ck_assert_int_eq(zn_cluster_set_free(c, 1, 0, &err), 0);
    ck_assert_int_eq(zn_cluster_set_free(c, 2, 0, &err), 0);
    ck_assert_int_eq(zn_cluster_set_free(c, 3, 0, &err), 0);
    usable[1] = usable[2] = usable[3] = usable[5] = usable[6] = usable[7] = 0;
    place_waiting(c, usable, 2, 120, 1000, 1000, false, &p);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n5");
    zn_placement_free(&p);
    usable[6] = 1; /* n7 is busy now, but leaf2 could hold the job once it frees */
    place_waiting(c, usable, 2, 120, 1000, 1000, false, &p);
    ck_assert_uint_eq(p.count, 0);
    ck_assert_int_eq(p.wide_opens_at, 1120);
    zn_placement_free(&p);
    /* Packing jobs never wait. */
    ck_assert_int_eq(zn_place(c, NULL, &packing, 8, &p, &err), 0);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_ANY);
    zn_placement_free(&p);
    /* A clock far out does not wrap the wait into the past. */
    place_waiting(c, usable, 2, 120, INT64_MAX - 5, INT64_MAX - 1, false, &p);
    ck_assert_uint_eq(p.count, 0);
    ck_assert_int_eq(p.wide_opens_at, INT64_MAX);
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

/* The wait is made only where backfill's plan (narrow_start) starts the gang in a leaf before
 * the wait ends; unplanned gangs keep the plain rule. */
START_TEST(no_wait_that_backfill_says_ends_in_no_leaf)
{
    struct zn_cluster *c = spine_only_now();
    struct zn_job_request r = {.nodes = 2,
                               .gpus_per_node = 8,
                               .gang = true,
                               .leaf_wait = 120,
                               .eligible_at = 1000,
                               .now = 1010};
    struct zn_error err;
    struct zn_placement p;

    ck_assert(zn_leaf_wait_pays(0, 1120));
    ck_assert(zn_leaf_wait_pays(1119, 1120));
    ck_assert(!zn_leaf_wait_pays(1120, 1120));
    ck_assert(!zn_leaf_wait_pays(ZN_NARROW_NEVER, 1120));
    ck_assert(!zn_leaf_wait_pays(1000, 0));

    /* A leaf frees at 1100 by the plan: held, as without a plan. */
    r.narrow_start = 1100;
    ck_assert_int_eq(zn_place(c, NULL, &r, 8, &p, &err), 0);
    ck_assert_uint_eq(p.count, 0);
    ck_assert_int_eq(p.wide_opens_at, 1120);
    ck_assert_int_eq(p.wait_skipped_until, 0);
    zn_placement_free(&p);
    /* The first leaf frees at 1500, after the wait: the spine now. */
    r.narrow_start = 1500;
    ck_assert_int_eq(zn_place(c, NULL, &r, 8, &p, &err), 0);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_SPINE);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n5");
    ck_assert_int_eq(p.list[0].opens_at, 0);
    ck_assert_int_eq(p.wide_opens_at, 0);
    ck_assert_int_eq(p.wait_skipped_until, 1120);
    zn_placement_free(&p);
    /* No leaf would ever take it. */
    r.narrow_start = ZN_NARROW_NEVER;
    ck_assert_int_eq(zn_place(c, NULL, &r, 8, &p, &err), 0);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_int_eq(p.wait_skipped_until, 1120);
    zn_placement_free(&p);
    /* A leaf open now still comes first. */
    ck_assert_int_eq(zn_cluster_set_free(c, 2, 8, &err), 0);
    ck_assert_int_eq(zn_place(c, NULL, &r, 8, &p, &err), 0);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_LEAF);
    zn_placement_free(&p);
    /* After the wait the plan does not matter. */
    r.now = 1120;
    r.narrow_start = 1100;
    ck_assert_int_eq(zn_place(c, NULL, &r, 8, &p, &err), 0);
    ck_assert_int_eq(p.wait_skipped_until, 0);
    ck_assert_int_eq(p.wide_opens_at, 0);
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

START_TEST(backfill_plans_are_kept_per_job)
{
    static struct zn_estimates e; /* 64 KiB: not on the stack */

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(zn_estimate_get(&e, 7), 0);
    zn_estimate_put(&e, 7, 1500);
    zn_estimate_put(&e, 8, ZN_NARROW_NEVER);
    ck_assert_int_eq(zn_estimate_get(&e, 7), 1500);
    ck_assert_int_eq(zn_estimate_get(&e, 8), ZN_NARROW_NEVER);
    zn_estimate_put(&e, 7, 1400);
    ck_assert_int_eq(zn_estimate_get(&e, 7), 1400);
    /* A job in the same slot takes it; the first then reads as not planned. */
    zn_estimate_put(&e, 7 + ZN_ESTIMATE_SLOTS, 2000);
    ck_assert_int_eq(zn_estimate_get(&e, 7), 0);
    ck_assert_int_eq(zn_estimate_get(&e, 7 + ZN_ESTIMATE_SLOTS), 2000);
    /* Job id 0 (no job) is never stored, so an empty slot never answers for it. */
    zn_estimate_put(&e, 0, 99);
    ck_assert_int_eq(zn_estimate_get(&e, 0), 0);
}
END_TEST

START_TEST(gang_above_leaves_touches_few_leaves)
{
    /* No leaf has three nodes with 4 free GPUs; the spine does. Pure best fit would take n1
     * and n9 (4 free each) and one of l2: three leaves. Zenith fills l2 first: two leaves. */
    static const unsigned free_gpus[] = {4, 0, 0, 0, 8, 8, 0, 0, 4, 0, 0, 0};
    struct zn_cluster *c = cluster_of(12, free_gpus);
    struct zn_placement p;

    load(c, "SwitchName=l1 Nodes=n[1-4]\nSwitchName=l2 Nodes=n[5-8]\n"
            "SwitchName=l3 Nodes=n[9-12]\nSwitchName=spine Switches=l[1-3]\n");
    place(c, NULL, 3, 4, true, 8, &p);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_SPINE);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n5 n6");
    zn_placement_free(&p);
    /* Without a gang, GPU packing alone decides. */
    place(c, NULL, 3, 4, false, 8, &p);
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n5 n9");
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

static int compare_free_index(const void *a, const void *b, void *arg)
{
    const struct zn_cluster *c = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    if (c->nodes[x].gpus_free != c->nodes[y].gpus_free)
        return c->nodes[x].gpus_free < c->nodes[y].gpus_free ? -1 : 1;
    return (x > y) - (x < y);
}

START_TEST(best_fit_matches_a_full_sort)
{
    /* Random clusters against the obvious answer: every fitting node sorted by (free, index). */
    unsigned seed = 12345;

    for (int round = 0; round < 50; round++) {
        size_t count = 1 + (size_t)(rand_r(&seed) % 400);
        unsigned *free_gpus = malloc(count * sizeof(*free_gpus));
        size_t *order = malloc(count * sizeof(*order)), fitting = 0;
        unsigned need = 1 + (unsigned)(rand_r(&seed) % 4);
        struct zn_placement p;
        struct zn_cluster *c;

        for (size_t i = 0; i < count; i++)
            free_gpus[i] = (unsigned)(rand_r(&seed) % 9);
        c = cluster_of(count, free_gpus);
        for (size_t i = 0; i < count; i++)
            if (free_gpus[i] >= need)
                order[fitting++] = i;
        qsort_r(order, fitting, sizeof(*order), compare_free_index, c);
        place(c, NULL, 1, need, false, 8, &p);
        ck_assert_uint_eq(p.count, fitting < 8 ? fitting : 8);
        for (size_t i = 0; i < p.count; i++)
            ck_assert_uint_eq(p.list[i].nodes[0], order[i]);
        zn_placement_free(&p);
        if (fitting >= 5) {
            place(c, NULL, 5, need, false, 1, &p);
            qsort(order, 5, sizeof(*order), zn_compare_node_index);
            for (size_t i = 0; i < 5; i++)
                ck_assert_uint_eq(p.list[0].nodes[i], order[i]);
            zn_placement_free(&p);
        }
        zn_cluster_free(c);
        free(free_gpus);
        free(order);
    }
}
END_TEST

START_TEST(nvlink_blocks_come_before_leaves)
{
    struct zn_cluster *c = two_leaves();
    struct zn_error err;
    struct zn_placement p;

    /* An NVLink block across the leaves (n3, n4, n5): a block is tighter than a leaf. */
    for (size_t n = 2; n <= 4; n++)
        ck_assert_int_eq(zn_cluster_set_block(c, n, "nvl1", &err), 0);
    ck_assert_int_eq(zn_cluster_set_block(c, 0, "nvl0", &err), 0);
    place(c, NULL, 3, 8, true, 8, &p);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_BLOCK);
    ck_assert_str_eq(p.list[0].where, "nvl1");
    ck_assert_str_eq(names(c, &p.list[0]), "n3 n4 n5");
    /* Then the leaves: each keeps 4 GPUs free; the tie goes to the first. */
    ck_assert_int_eq(p.list[1].scope, ZN_SCOPE_LEAF);
    ck_assert_str_eq(p.list[1].where, "leaf1");
    ck_assert_str_eq(names(c, &p.list[1]), "n2 n3 n4");
    zn_placement_free(&p);
    zn_cluster_free(c);
}
END_TEST

/* Slurm 23.11's topology/block file: NVL72-style racks of four nodes here. */
START_TEST(block_topology_conf_makes_nvlink_blocks)
{
    static const unsigned free_gpus[] = {8, 0, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    struct zn_cluster *c = cluster_of(12, free_gpus);
    struct zn_placement p;

    load(c, "# racks\nBlockName=rack1 Nodes=n[1-4]\nBlockName=rack2 Nodes=n[5-8]\n"
            "blockname=rack3 nodes=n[9-12],ghost1\nBlockSizes=4,8,16\n");
    ck_assert_uint_eq(c->block_count, 3);
    ck_assert_uint_eq(c->switch_count, 0);
    ck_assert_uint_eq(c->block_base, 4);
    ck_assert_uint_eq(c->block_levels, 0x7);
    ck_assert_uint_eq(c->unknown_nodes, 1);
    ck_assert_str_eq(c->blocks[c->nodes[5].block].name, "rack2");
    /* A gang that fits one block stays in it: rack1 has three idle nodes left, best fit. */
    place(c, NULL, 3, 8, true, 8, &p);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_BLOCK);
    ck_assert_str_eq(p.list[0].where, "rack1");
    ck_assert_str_eq(names(c, &p.list[0]), "n1 n3 n4");
    zn_placement_free(&p);
    /* One that fits no block goes anywhere (no switch tree in a block file). */
    place(c, NULL, 6, 8, true, 8, &p);
    ck_assert_int_eq(p.list[0].scope, ZN_SCOPE_ANY);
    zn_placement_free(&p);
    zn_cluster_free(c);

    /* Without BlockSizes the base is the first block's size, levels 1, 2, 4 and 8 blocks. */
    c = cluster_of(8, NULL);
    load(c, "BlockName=b1 Nodes=n[1-4]\nBlockName=b2 Nodes=n[5-8]\n");
    ck_assert_uint_eq(c->block_base, 4);
    ck_assert_uint_eq(c->block_levels, 0xf);
    zn_cluster_free(c);
}
END_TEST

START_TEST(block_topology_conf_refuses_what_slurmctld_refuses)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"BlockName=b1\n", "topology.conf:1: block b1 has no Nodes="},
        {"BlockName=b1 Nodes=n[1-2]\nBlockName=b1 Nodes=n[3-4]\n", "block b1 is defined twice"},
        {"BlockName=b1 Nodes=n[1-2]\nBlockName=b2 Nodes=n[2-3]\n",
         "node n2 is in blocks b1 and b2"},
        {"SwitchName=s1 Nodes=n[1-2]\nBlockName=b1 Nodes=n[3-4]\n", "one or the other"},
        {"BlockName=b1 Nodes=n[1-2]\nSwitchName=s1 Nodes=n[3-4]\n", "one or the other"},
        {"BlockSizes=2\nSwitchName=s1 Nodes=n[3-4]\n", "one or the other"},
        {"BlockName=b1 Nodes=n[1-4]\nBlockName=b2 Nodes=n[5-6]\n",
         "block b2 has 2 nodes here, fewer than the base block size 4 (the first block's)"},
        {"BlockName=b1 Nodes=n[1-2]\nBlockSizes=4\n", "fewer than the base block size 4"},
        {"BlockName=b1 Nodes=n[1-4]\nBlockSizes=2,6\n", "6 is not the base size 2 times a power"},
        {"BlockName=b1 Nodes=n[1-4]\nBlockSizes=2,0\n", "BlockSizes=2,0: each size is a positive"},
        {"BlockName=b1 Nodes=n[1-4]\nBlockSizes=two\n", "BlockSizes=two"},
        {"BlockName=b1 Nodes=n[1-4]\nBlockSizes=1,65536\n", "more than 2^15 base blocks"},
        {"BlockName=b1 Nodes=n[1-4]\nBlockSizes=2\nBlockSizes=4\n", "given twice"},
        {"BlockName=b1 Nodes=n[1-4] BlockSizes=2\n", "on a line of its own"},
        {"BlockSizes=2\n", "BlockSizes without any BlockName line"},
        {"BlockName=b1 SwitchName=s1 Nodes=n1\n", "not both"},
        {"BlockName=b1 Nodes=n[1-4] Speed=9\n", "or BlockName, Nodes, BlockSizes"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zn_cluster *c = cluster_of(8, NULL);
        struct zn_error err;

        /* A block from a node feature survives a file that failed. */
        ck_assert_int_eq(zn_cluster_set_block(c, 7, "nvlblock_x", &err), 0);
        ck_assert_msg(zn_cluster_load_topology(c, bad[i].text, "topology.conf", &err) == -1,
                      "accepted: %s", bad[i].text);
        ck_assert_msg(strstr(err.text, bad[i].needle), "%s: message '%s' lacks '%s'", bad[i].text,
                      err.text, bad[i].needle);
        ck_error_mentions(err, "zenith: topology.conf");
        ck_assert_uint_eq(c->block_count, 1);
        ck_assert_uint_eq(c->switch_count, 0);
        ck_assert_uint_eq(c->block_base, 0);
        for (size_t n = 0; n < 7; n++)
            ck_assert_int_eq(c->nodes[n].block, -1);
        ck_assert_int_eq(c->nodes[7].block, 0);
        /* And the model takes a good file afterwards. */
        load(c, "BlockName=b1 Nodes=n[1-2]\n");
        ck_assert_uint_eq(c->block_count, 2);
        zn_cluster_free(c);
    }
}
END_TEST

START_TEST(single_gpu_jobs_are_packed_best_fit)
{
    static const unsigned free_gpus[] = {8, 2, 8, 3, 2, 1};
    struct zn_cluster *c = cluster_of(6, free_gpus);
    struct zn_placement p;
    unsigned char usable[] = {1, 0, 1, 1, 1, 1};

    /* A 2-GPU job goes to a node with 2 free, not to an idle node; lower index on a tie. */
    place(c, NULL, 1, 2, false, 3, &p);
    ck_assert_uint_eq(p.count, 3);
    ck_assert_str_eq(names(c, &p.list[0]), "n2");
    ck_assert_str_eq(names(c, &p.list[1]), "n5");
    ck_assert_str_eq(names(c, &p.list[2]), "n4");
    ck_assert_uint_eq(p.list[0].left_free, 0);
    zn_placement_free(&p);
    /* Nodes the job may not use are never chosen. */
    place(c, usable, 1, 2, false, 8, &p);
    ck_assert_str_eq(names(c, &p.list[0]), "n5");
    ck_assert_uint_eq(p.count, 4);
    zn_placement_free(&p);
    /* Same answer every time. */
    for (int i = 0; i < 3; i++) {
        place(c, NULL, 2, 3, false, 1, &p);
        ck_assert_str_eq(names(c, &p.list[0]), "n1 n4");
        zn_placement_free(&p);
    }
    ck_assert_uint_eq(zn_cluster_stranded_gpus(c), 2 + 3 + 2 + 1);
    zn_cluster_free(c);
}
END_TEST

START_TEST(candidates_are_capped_and_distinct)
{
    struct zn_cluster *c = two_leaves();
    struct zn_placement p;
    struct zn_job_request r = {.nodes = 0, .gpus_per_node = 8, .gang = true};
    struct zn_error err;

    place(c, NULL, 2, 8, true, 1, &p);
    ck_assert_uint_eq(p.count, 1);
    zn_placement_free(&p);
    place(c, NULL, 3, 8, true, 16, &p);
    /* Two leaves; the spine's and the cluster's best fit are leaf1's nodes again. */
    ck_assert_uint_eq(p.count, 2);
    for (size_t i = 0; i < p.count; i++) {
        char *first = strdup(names(c, &p.list[i]));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(first, names(c, &p.list[j]));
        free(first);
    }
    zn_placement_free(&p);
    ck_assert_int_eq(zn_place(c, NULL, &r, 4, &p, &err), -1);
    ck_error_mentions(err, "at least one node");
    r.nodes = 1;
    ck_assert_int_eq(zn_place(c, NULL, &r, 0, &p, &err), -1);
    zn_cluster_free(c);
}
END_TEST

static int validate(const char *gang, uint32_t min, uint32_t max, uint64_t per_node,
                    uint64_t per_job, bool other, struct zn_gang *out, bool *set_nodes,
                    struct zn_error *err)
{
    struct zn_gang_job job = {gang, min, max, per_node, per_job, other, NULL};
    struct zn_gang_wait_limits limits = {ZN_GANG_LEAF_WAIT_DEFAULT, ZN_GANG_LEAF_WAIT_MAX_DEFAULT};

    return zn_gang_validate(&job, &limits, out, set_nodes, err);
}

START_TEST(gang_requests_are_validated)
{
    struct zn_gang g;
    struct zn_error err;
    bool set;

    ck_assert_int_eq(validate(NULL, 1, 1, 0, 0, false, &g, &set, &err), 0);
    ck_assert_int_eq(validate("job", 4, 4, 8, 0, false, &g, &set, &err), 1);
    ck_assert_uint_eq(g.nodes, 4);
    ck_assert_uint_eq(g.gpus_per_node, 8);
    ck_assert(!set);
    ck_assert_int_eq(validate("4", 0, 0, 0, 16, false, &g, &set, &err), 1);
    ck_assert_uint_eq(g.gpus_per_node, 4);
    ck_assert(set);
    ck_assert_int_eq(validate("2", 2, 0, 8, 0, false, &g, &set, &err), 1);

    static const struct {
        const char *gang;
        uint32_t min, max;
        uint64_t per_node, per_job;
        bool other;
        const char *needle;
    } bad[] = {
        {"x", 2, 2, 8, 0, false, "--zenith-gang"},
        {"0", 2, 2, 8, 0, false, "--zenith-gang"},
        {"job", 2, 4, 8, 0, false, "fixed node count"},
        {"3", 2, 2, 8, 0, false, "does not match the job's 2 nodes"},
        {"job", 0, 0, 8, 0, false, "give -N"},
        {"job", 1, 1, 8, 0, false, "2 or more nodes"},
        {"job", 2, 2, 0, 0, false, "asks for no GPU"},
        {"job", 2, 2, 0, 0, true, "not per task or socket"},
        {"job", 3, 3, 0, 8, false, "does not divide among 3"},
        {"job", 2, 2, 5000, 0, false, "more than any node"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(validate(bad[i].gang, bad[i].min, bad[i].max, bad[i].per_node,
                                  bad[i].per_job, bad[i].other, &g, &set, &err),
                         -1);
        ck_error_mentions(err, bad[i].needle);
        ck_error_mentions(err, "zenith: ");
    }
}
END_TEST

START_TEST(gang_waits_are_validated_and_capped)
{
    struct zn_gang_wait_limits limits = {30, 600}, read;
    struct zn_gang_job job = {.gang = "job", .min_nodes = 2, .max_nodes = 2, .gpus_per_node = 8};
    struct zn_gang g;
    struct zn_error err;
    bool set;

    /* Without a wait of its own a gang gets the site's default, capped by the max. */
    ck_assert_int_eq(zn_gang_validate(&job, &limits, &g, &set, &err), 1);
    ck_assert(!g.leaf_wait_given);
    ck_assert_uint_eq(zn_gang_leaf_wait(&g, &limits), 30);
    job.leaf_wait = "0";
    ck_assert_int_eq(zn_gang_validate(&job, &limits, &g, &set, &err), 1);
    ck_assert(g.leaf_wait_given);
    ck_assert_uint_eq(zn_gang_leaf_wait(&g, &limits), 0);
    job.leaf_wait = "600";
    ck_assert_int_eq(zn_gang_validate(&job, &limits, &g, &set, &err), 1);
    ck_assert_uint_eq(zn_gang_leaf_wait(&g, &limits), 600);
    /* An admin who lowers the max later caps the queued job too. */
    limits.leaf_wait_max = 100;
    ck_assert_uint_eq(zn_gang_leaf_wait(&g, &limits), 100);
    job.leaf_wait = "601";
    limits.leaf_wait_max = 600;
    ck_assert_int_eq(zn_gang_validate(&job, &limits, &g, &set, &err), -1);
    ck_error_mentions(err, "--zenith-gang-wait=601 is longer than this site allows (600 s");
    ck_error_mentions(err, "zenith_gang_leaf_wait_max");
    static const char *bad[] = {"", "-1", "2m", "1e3", "99999999999", " 5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        job.leaf_wait = bad[i];
        ck_assert_int_eq(zn_gang_validate(&job, &limits, &g, &set, &err), -1);
        ck_error_mentions(err, "--zenith-gang-wait=");
        ck_error_mentions(err, "not a number of seconds");
    }
    job.gang = NULL;
    job.leaf_wait = "60";
    ck_assert_int_eq(zn_gang_validate(&job, &limits, &g, &set, &err), -1);
    ck_error_mentions(err, "add --zenith-gang");

    /* SchedulerParameters: Slurm's keys pass, Zenith's are checked. */
    ck_assert_int_eq(zn_gang_wait_limits_parse(NULL, &read, &err), 0);
    ck_assert_uint_eq(read.leaf_wait, ZN_GANG_LEAF_WAIT_DEFAULT);
    ck_assert_uint_eq(read.leaf_wait_max, ZN_GANG_LEAF_WAIT_MAX_DEFAULT);
    ck_assert_int_eq(zn_gang_wait_limits_parse("bf_interval=1,zenith_gang_leaf_wait=45,"
                                               "bf_resolution=1,zenith_gang_leaf_wait_max=90",
                                               &read, &err),
                     0);
    ck_assert_uint_eq(read.leaf_wait, 45);
    ck_assert_uint_eq(read.leaf_wait_max, 90);
    ck_assert_int_eq(zn_gang_wait_limits_parse("zenith_gang_leaf_wait_max=60", &read, &err), 0);
    ck_assert_uint_eq(read.leaf_wait, 60);
    static const struct {
        const char *params, *needle;
    } bad_params[] = {
        {"zenith_gang_leaf_wait=abc", "zenith_gang_leaf_wait=abc is not a number of seconds"},
        {"zenith_gang_leaf_wait=999999999", "from 0 to 604800"},
        {"zenith_gang_leaf_wait=700,zenith_gang_leaf_wait_max=600", "above"},
        {"zenith_gang_wait=5", "unknown Zenith key zenith_gang_wait=..."},
        {"zenith_gang_leaf_wait", "without a value"},
    };
    for (size_t i = 0; i < sizeof(bad_params) / sizeof(bad_params[0]); i++) {
        ck_assert_int_eq(zn_gang_wait_limits_parse(bad_params[i].params, &read, &err), -1);
        ck_error_mentions(err, bad_params[i].needle);
        ck_error_mentions(err, "SchedulerParameters");
        ck_assert_uint_eq(read.leaf_wait, ZN_GANG_LEAF_WAIT_DEFAULT);
    }
}
END_TEST

START_TEST(only_a_wellformed_stamp_counts)
{
    struct zn_gang g = {4, 8, false, 0}, found;
    char stamp[ZN_GANG_STAMP_SIZE], text[256];

    zn_gang_stamp_format(&g, stamp, sizeof(stamp));
    ck_assert_str_eq(stamp, "zenith-gang:nodes=4,gpus-per-node=8");
    ck_assert_int_eq(zn_gang_stamp_find(stamp, &found), 1);
    ck_assert_uint_eq(found.nodes, 4);
    ck_assert_uint_eq(found.gpus_per_node, 8);
    snprintf(text, sizeof(text), "ticket 42 %s", stamp);
    ck_assert_int_eq(zn_gang_stamp_find(text, &found), 1);
    ck_assert_int_eq(zn_gang_stamp_find(NULL, &found), 0);
    ck_assert_int_eq(zn_gang_stamp_find("", &found), 0);
    ck_assert_int_eq(zn_gang_stamp_find("xzenith-gang:nodes=4,gpus-per-node=8", &found), 0);
    ck_assert_int_eq(zn_gang_stamp_find("zenith-gang:nodes=4,gpus-per-node=8x", &found), 0);
    ck_assert_int_eq(zn_gang_stamp_find("zenith-gang:nodes=1,gpus-per-node=8", &found), 0);
    ck_assert_int_eq(zn_gang_stamp_find("zenith-gang:nodes=4", &found), 0);
    ck_assert(!found.leaf_wait_given);
    /* A job's own wait travels in the stamp. */
    g.leaf_wait_given = true;
    g.leaf_wait = 604800;
    g.nodes = 65536;
    g.gpus_per_node = 1024;
    zn_gang_stamp_format(&g, stamp, sizeof(stamp));
    ck_assert_str_eq(stamp, "zenith-gang:nodes=65536,gpus-per-node=1024,leaf-wait=604800");
    ck_assert_int_eq(zn_gang_stamp_find(stamp, &found), 1);
    ck_assert(found.leaf_wait_given);
    ck_assert_uint_eq(found.leaf_wait, 604800);
    ck_assert_int_eq(
        zn_gang_stamp_find("zenith-gang:nodes=4,gpus-per-node=8,leaf-wait=0 x", &found), 1);
    ck_assert(found.leaf_wait_given);
    ck_assert_uint_eq(found.leaf_wait, 0);
    ck_assert_int_eq(
        zn_gang_stamp_find("zenith-gang:nodes=4,gpus-per-node=8,leaf-wait=604801", &found), 0);
    ck_assert_int_eq(zn_gang_stamp_find("zenith-gang:nodes=4,gpus-per-node=8,leaf-wait=", &found),
                     0);
    ck_assert_int_eq(zn_gang_stamp_find("zenith-gang:nodes=4,gpus-per-node=8,leaf-wait=5x", &found),
                     0);
}
END_TEST

START_TEST(gang_priority_grows_with_wait_up_to_the_cap)
{
    struct zn_gang_priority p;
    struct zn_error err;

    ck_assert_int_eq(zn_gang_priority_parse("gang_per_hour=3600,gang_max=500", 0, 604800, &p, &err),
                     0);
    ck_assert_uint_eq(p.base, 0);
    ck_assert_int_eq(zn_gang_priority_parse("gang_base=7,gang_per_hour=3600,gang_max=500", 1000,
                                            604800, &p, &err),
                     0);
    ck_assert_uint_eq(zn_gang_priority_value(&p, 0), 7);
    ck_assert_uint_eq(zn_gang_priority_value(&p, -5), 7);
    ck_assert_uint_eq(zn_gang_priority_value(&p, 60), 67);
    ck_assert_uint_eq(zn_gang_priority_value(&p, 1000), 507);
    ck_assert_uint_eq(zn_gang_priority_value(&p, INT64_MAX), 507);
    ck_assert_int_eq(zn_gang_priority_parse("gang_per_hour=-1", 0, 0, &p, &err), -1);
    ck_error_mentions(err, "gang_per_hour=-1");
    ck_assert_int_eq(zn_gang_priority_parse("gang_weight=3", 0, 0, &p, &err), -1);
    ck_error_mentions(err, "unknown key gang_weight");
    ck_assert_int_eq(zn_gang_priority_parse("gang_max", 0, 0, &p, &err), -1);
    ck_error_mentions(err, "KEY=VALUE");
    ck_assert_int_eq(zn_gang_priority_parse("gang_max=99999999999", 0, 0, &p, &err), -1);
}
END_TEST

/* At submission a gang ranks as any job of its age; after waiting W it ranks as a job that
 * waited 2W, until its bonus reaches a full age factor. */
START_TEST(gang_priority_defaults_double_the_age_factor)
{
    const uint32_t weight = 1000, max_age = 7 * 24 * 3600;
    struct zn_gang_priority p;
    struct zn_error err;
    int64_t waited;

    ck_assert_int_eq(zn_gang_priority_parse(NULL, weight, max_age, &p, &err), 0);
    ck_assert_uint_eq(zn_gang_priority_value(&p, 0), 0);
    for (waited = 3600; waited <= 6 * 24 * 3600; waited += 12 * 3600) {
        uint64_t age = (uint64_t)weight * (uint64_t)waited / max_age;
        uint64_t bonus = zn_gang_priority_value(&p, waited);

        /* per_hour is rounded to a whole number: 6 for 5.95 an hour here */
        ck_assert_uint_ge(bonus + 1, age);
        ck_assert_uint_le(bonus, age + age / 50 + 1);
    }
    ck_assert_uint_eq(zn_gang_priority_value(&p, 30 * 24 * 3600), weight);
    /* no age factor in effect (PriorityWeightAge 0, or no slurmdbd): the defaults add nothing */
    ck_assert_int_eq(zn_gang_priority_parse("", 0, max_age, &p, &err), 0);
    ck_assert_uint_eq(zn_gang_priority_value(&p, 0), 0);
    ck_assert_uint_eq(zn_gang_priority_value(&p, INT32_MAX), 0);
    /* PriorityMaxAge=0 fills every job's age factor at once: nothing to double */
    ck_assert_int_eq(zn_gang_priority_parse(NULL, weight, 0, &p, &err), 0);
    ck_assert_uint_eq(zn_gang_priority_value(&p, 3600), 0);
    /* the largest weight over one second of max age stays a valid factor */
    ck_assert_int_eq(zn_gang_priority_parse(NULL, UINT32_MAX, 1, &p, &err), 0);
    ck_assert_uint_eq(p.per_hour, UINT32_MAX);
    ck_assert_uint_eq(zn_gang_priority_value(&p, INT64_MAX), INT32_MAX);
}
END_TEST

START_TEST(gpu_counts_are_read_from_tres_strings)
{
    uint64_t n;

    ck_assert_int_eq(zn_tres_gpus(NULL, &n), 0);
    ck_assert_int_eq(zn_tres_gpus("gres:gpu:8", &n), 1);
    ck_assert_uint_eq(n, 8);
    ck_assert_int_eq(zn_tres_gpus("gres:mps:100,gres:gpu:h100:4", &n), 1);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(zn_tres_gpus("gres/gpu:2", &n), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(zn_tres_gpus("gres:gpu", &n), 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(zn_tres_gpus("gres:mps:100", &n), 0);
    ck_assert_int_eq(zn_tres_gpus("gres:gpuz:1", &n), 0);
    ck_assert_int_eq(zn_tres_gpus("gres:gpu:2k", &n), -1);
    ck_assert_int_eq(zn_tres_gpus("gres:gpu:0", &n), -1);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("placement");

    tcase_add_test(tc, hostlists_expand_as_slurm_writes_them);
    tcase_add_test(tc, no_wait_that_backfill_says_ends_in_no_leaf);
    tcase_add_test(tc, backfill_plans_are_kept_per_job);
    tcase_add_test(tc, hostlists_refuse_nonsense);
    tcase_add_test(tc, topology_conf_builds_the_switch_tree);
    tcase_add_test(tc, topology_conf_refuses_what_slurmctld_refuses);
    tcase_add_test(tc, topology_conf_leaf_of_unknown_nodes);
    tcase_add_test(tc, hostlists_bound_the_product_of_ranges);
    tcase_add_test(tc, topology_file_errors_name_the_file);
    tcase_add_test(tc, cluster_refuses_bad_nodes);
    tcase_add_test(tc, gang_stays_in_one_leaf_where_packing_spans_two);
    tcase_add_test(tc, gang_prefers_the_tighter_leaf);
    tcase_add_test(tc, gang_falls_back_level_by_level);
    tcase_add_test(tc, gang_above_leaves_touches_few_leaves);
    tcase_add_test(tc, gang_waits_for_a_leaf_then_takes_the_spine);
    tcase_add_test(tc, backfill_sees_when_the_spine_opens);
    tcase_add_test(tc, no_wait_where_waiting_cannot_help);
    tcase_add_test(tc, best_fit_matches_a_full_sort);
    tcase_add_test(tc, nvlink_blocks_come_before_leaves);
    tcase_add_test(tc, block_topology_conf_makes_nvlink_blocks);
    tcase_add_test(tc, block_topology_conf_refuses_what_slurmctld_refuses);
    tcase_add_test(tc, single_gpu_jobs_are_packed_best_fit);
    tcase_add_test(tc, candidates_are_capped_and_distinct);
    tcase_add_test(tc, gang_requests_are_validated);
    tcase_add_test(tc, gang_waits_are_validated_and_capped);
    tcase_add_test(tc, only_a_wellformed_stamp_counts);
    tcase_add_test(tc, gang_priority_grows_with_wait_up_to_the_cap);
    tcase_add_test(tc, gang_priority_defaults_double_the_age_factor);
    tcase_add_test(tc, gpu_counts_are_read_from_tres_strings);
    return test_run("placement", tc);
}
