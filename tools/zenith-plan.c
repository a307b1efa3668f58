/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-plan: show a node's topology and the placement plan Zenith computes for a step shape. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env.h"
#include "runtime/parse.h"
#include "runtime/plan.h"
#include "runtime/report.h"

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_ENV };

struct options {
    const char *xml;
    const char *write_xml;
    const char *gpus;
    unsigned *cpus; /* --cpus, parsed */
    size_t ncpus;
    const char *node;
    unsigned tasks;
    enum format format;
    struct zn_policy policy;
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: zenith-plan [--xml FILE] [--tasks N [PLAN OPTIONS]] [--format FORMAT]\n"
            "       zenith-plan [--xml IN] --write-xml FILE\n"
            "\n"
            "Without --tasks, print the node's topology: NUMA nodes, huge pages, GPUs (numbered\n"
            "like Slurm numbers them) and NICs. With --tasks, print the placement plan Zenith\n"
            "computes for N tasks of a step on this node.\n"
            "\n"
            "  -x, --xml FILE            read the topology from an hwloc XML file (default: "
            "this machine)\n"
            "  -w, --write-xml FILE      save this machine's topology (or, with --xml, that\n"
            "                            file's, once it loads) as the sealed cache the Slurm\n"
            "                            plugin and zenith-run read, then exit\n"
            "  -n, --tasks N             tasks of the step on this node\n"
            "  -g, --gpus LIST           the step's GPUs as Slurm indices, e.g. 0-3 (default: "
            "none)\n"
            "  -c, --cpus LIST           CPUs (OS numbers) the step may use, e.g. 0-15,32-47\n"
            "                            (default: all)\n"
            "  -b, --bind MODE           auto, gpu, numa, socket, core or none (default: auto)\n"
            "  -m, --mem POLICY          local, interleave, bind, none, hbm or prefer-hbm\n"
            "                            (default: local when bound)\n"
            "  -t, --cores-per-task N    cores for each task (default: an equal share)\n"
            "  -H, --hugepages SIZE[:PAGESIZE]\n"
            "                            huge pages per node, e.g. 8G or 4G:1G\n"
            "  -N, --node NAME           node name shown in the report\n"
            "  -f, --format FORMAT       text, json, or env (each task's environment)\n"
            "  -h, --help                show this help\n"
            "  -V, --version             show the version\n"
            "\n"
            "Example: zenith-plan --xml node.xml --tasks 8 --gpus 0-7 --bind auto\n"
            "See zenith-plan(1).\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"xml", required_argument, NULL, 'x'},
        {"write-xml", required_argument, NULL, 'w'},
        {"tasks", required_argument, NULL, 'n'},
        {"gpus", required_argument, NULL, 'g'},
        {"cpus", required_argument, NULL, 'c'},
        {"bind", required_argument, NULL, 'b'},
        {"mem", required_argument, NULL, 'm'},
        {"cores-per-task", required_argument, NULL, 't'},
        {"hugepages", required_argument, NULL, 'H'},
        {"node", required_argument, NULL, 'N'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct zn_error err;
    int c;

    /* Every bad command line is a usage error (exit 2) with a message of our own, so getopt
     * stays quiet: the leading ':' tells a missing value from an unknown option. */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":x:w:n:g:c:b:m:t:H:N:f:hV", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'x':
            o->xml = optarg;
            break;
        case 'w':
            o->write_xml = optarg;
            break;
        case 'n':
            rc = zn_parse_count("--tasks", optarg, 4096, &o->tasks, &err);
            break;
        case 'g': {
            /* The syntax is checked here, before the topology is read, so that a malformed
             * list is a usage error; whether the node has those GPUs is the topology's call. */
            unsigned *list = NULL;
            size_t n = 0;
            rc = zn_parse_index_list("--gpus", optarg, 65535, &list, &n, &err);
            free(list);
            o->gpus = optarg;
            break;
        }
        case 'c':
            free(o->cpus);
            o->cpus = NULL;
            rc = zn_parse_index_list("--cpus", optarg, 65535, &o->cpus, &o->ncpus, &err);
            break;
        case 'b':
            rc = zn_bind_parse("--bind", optarg, &o->policy.bind, &err);
            break;
        case 'm':
            rc = zn_mem_parse("--mem", optarg, &o->policy.mem, &err);
            break;
        case 't':
            rc = zn_parse_count("--cores-per-task", optarg, 4096, &o->policy.cores_per_task, &err);
            break;
        case 'H':
            rc = zn_hugepages_parse("--hugepages", optarg, &o->policy.hugepage_bytes,
                                    &o->policy.hugepage_size, &err);
            break;
        case 'N':
            o->node = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                o->format = FORMAT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                o->format = FORMAT_JSON;
            else if (strcmp(optarg, "env") == 0)
                o->format = FORMAT_ENV;
            else
                rc = zn_fail(&err, "--format=%s is not a format; use text, json or env", optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("zenith-plan %s\n", PACKAGE_VERSION);
            exit(0);
        case ':':
            fprintf(stderr, "zenith: %s needs a value; see 'zenith-plan --help' for the options\n",
                    argv[optind - 1]);
            return -1;
        default:
            /* getopt leaves optopt 0 for a long option it does not know (or finds ambiguous);
             * then the word as typed is the one before optind. */
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(stderr,
                        "zenith: -%c is not an option; see 'zenith-plan --help' for the options\n",
                        optopt);
            else
                fprintf(stderr,
                        "zenith: %s is not an option (or is ambiguous, or takes no value); see "
                        "'zenith-plan --help' for the options\n",
                        argv[optind - 1]);
            return -1;
        }
        if (rc < 0) {
            fprintf(stderr, "%s\n", err.text);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "zenith: unexpected argument '%s'; see 'zenith-plan --help'\n",
                argv[optind]);
        return -1;
    }
    if (!o->tasks && (o->gpus || o->cpus || o->policy.cores_per_task || o->policy.hugepage_bytes ||
                      o->format == FORMAT_ENV)) {
        fprintf(stderr, "zenith: plan options need --tasks N (the step's tasks on this node)\n");
        return -1;
    }
    if (o->write_xml && (o->tasks || o->format != FORMAT_TEXT || o->node)) {
        fprintf(stderr, "zenith: --write-xml saves a topology cache and takes no other option "
                        "than --xml IN (the XML to seal; default: this machine)\n");
        return -1;
    }
    return 0;
}

static int print_env(const struct zn_plan *plan)
{
    for (unsigned i = 0; i < plan->ntasks; i++) {
        struct zn_env env;
        struct zn_error err;
        if (zn_env_for_task(plan, i, &env, &err) < 0) {
            fprintf(stderr, "%s\n", err.text);
            return -1;
        }
        printf("# task %u\n", i);
        for (size_t k = 0; k < env.count; k++)
            printf("%s=%s\n", env.vars[k].name, env.vars[k].value);
        zn_env_clear(&env);
    }
    return 0;
}

static int run(const struct options *o)
{
    struct zn_error err;
    struct zn_topology *topo = NULL;
    struct zn_step_gpus gpus = {0};
    struct zn_plan *plan = NULL;
    hwloc_bitmap_t allowed = NULL;
    int rc = 1;

    topo = o->xml ? zn_topology_load_xml(o->xml, &err) : zn_topology_load_live(&err);
    if (!topo)
        goto fail;
    if (!o->tasks) {
        rc = (o->format == FORMAT_JSON ? zn_report_topology_json(stdout, topo)
                                       : zn_report_topology_text(stdout, topo)) < 0;
        goto out;
    }
    if (o->gpus && zn_step_gpus_from_list(topo, "--gpus", o->gpus, &gpus, &err) < 0)
        goto fail;
    if (o->cpus) {
        allowed = hwloc_bitmap_alloc();
        if (!allowed)
            goto out;
        for (size_t i = 0; i < o->ncpus; i++)
            hwloc_bitmap_set(allowed, o->cpus[i]);
    }
    struct zn_request req = {
        .topo = topo,
        .allowed = allowed,
        .gpus = &gpus,
        .ntasks = o->tasks,
        .policy = o->policy,
    };
    plan = zn_plan_compute(&req, &err);
    if (!plan)
        goto fail;
    switch (o->format) {
    case FORMAT_TEXT:
        rc = zn_report_plan_text(stdout, plan, o->node) < 0;
        break;
    case FORMAT_JSON:
        rc = zn_report_plan_json(stdout, plan, o->node) < 0;
        break;
    case FORMAT_ENV:
        rc = print_env(plan) < 0;
        break;
    }
    goto out;
fail:
    fprintf(stderr, "%s\n", err.text);
out:
    zn_plan_destroy(plan);
    hwloc_bitmap_free(allowed);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o = {.policy = {.bind = ZN_BIND_AUTO, .mem = ZN_MEM_DEFAULT}};
    struct zn_error err;
    int rc = 1;

    /* Exit status as zenith-plan(1) documents it: 2 for a bad command line (nothing read
     * yet), 1 when the topology cannot be read or written or the plan is impossible. */
    if (parse_args(argc, argv, &o) < 0) {
        rc = 2;
    } else if (o.write_xml) {
        if ((o.xml ? zn_topology_seal_xml(o.xml, o.write_xml, &err)
                   : zn_topology_write_cache(o.write_xml, &err)) < 0)
            fprintf(stderr, "%s\n", err.text);
        else
            rc = 0;
    } else if (fflush(stdout) == 0) {
        rc = run(&o) || fflush(stdout) != 0 ? 1 : 0;
    }
    free(o.cpus);
    return rc;
}
