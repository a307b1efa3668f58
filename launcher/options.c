/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/options.h"
#include "runtime/parse.h"

static const char usage_head[] =
    "Usage: srun [SRUN OPTIONS] zenith-run [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "\n"
    "Starts PROGRAM as one rank of a distributed job: bootstraps through PMIx (srun\n"
    "--mpi=pmix), exports RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK,\n"
    "MASTER_ADDR and a MASTER_PORT verified free on rank 0's node, places the rank near\n"
    "its GPU unless Zenith's SPANK plugin already did, and supervises PROGRAM: signals are\n"
    "forwarded and its exit status is returned (128+N when killed by signal N).\n"
    "\n"
    "  -b, --bind MODE           placement when the SPANK plugin did not place the task:\n"
    "                            auto, gpu, numa, socket, core or none (default: auto);\n"
    "                            MODE,verbose also prints the binding report\n"
    "  -m, --mem POLICY          NUMA memory policy: local, interleave, bind, none, hbm or\n"
    "                            prefer-hbm\n"
    "                            (default: local when bound)\n"
    "  -p, --port-range FIRST-LAST\n"
    "                            ports rank 0 may pick MASTER_PORT from (default: 29500-30499)\n"
    "  -a, --master-addr ADDR    MASTER_ADDR to export (default: an address of rank 0's node\n"
    "                            that other nodes reach)\n"
    "  -i, --iface NAME          network interface for MASTER_ADDR and gloo (GLOO_SOCKET_IFNAME)\n"
    "      --share-gpus          allow more ranks on a node than the step has GPUs there\n"
    "      --preflight           before PROGRAM starts, build an NCCL communicator, time an\n"
    "                            all-reduce and report bus bandwidth per rank\n"
    "      --preflight-size SIZE all-reduce size (default: 64M)\n"
    "      --preflight-min-busbw GBPS\n"
    "                            fail the step when a rank measures less (default: report only)\n"
    "  -d, --data SPEC           start this rank's data service: its share of the data\n"
    "                            read ahead into shared memory for PROGRAM (zenith.data, or\n"
    "                            the C API of runtime/dataplane.h); SPEC is key=value,...:\n";
static const char usage_tail[] =
    "  -t, --timing              print each rank's start-up time breakdown\n"
    "  -v, --verbose             print one line per rank: rank, node and how it bootstrapped\n"
    "  -h, --help                show this help\n"
    "  -V, --version             show the version\n"
    "\n"
    "Every option also reads ZENITH_<NAME> from the environment (ZENITH_BIND, ZENITH_MEM,\n"
    "ZENITH_PORT_RANGE, ZENITH_MASTER_ADDR, ZENITH_IFACE, ZENITH_SHARE_GPUS=1,\n"
    "ZENITH_PREFLIGHT=1, ZENITH_PREFLIGHT_SIZE, ZENITH_PREFLIGHT_MIN_BUSBW, ZENITH_DATA,\n"
    "ZENITH_TIMING=1,\n"
    "ZENITH_VERBOSE=1); the command line wins.\n"
    "\n"
    "Example: srun -N4 --ntasks-per-node=2 --mpi=pmix zenith-run python3 train.py\n"
    "See zenith-run(1).\n";

void zr_print_usage(FILE *out)
{
    fputs(usage_head, out);
    fputs(zn_dataspec_help, out);
    fputs(usage_tail, out);
}

enum {
    OPT_SHARE_GPUS = 256,
    OPT_PREFLIGHT,
    OPT_PREFLIGHT_SIZE,
    OPT_PREFLIGHT_MIN_BUSBW,
};

static int parse_flag(const char *what, const char *text, bool *out, struct zn_error *err)
{
    if (strcmp(text, "1") == 0 || strcmp(text, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(text, "0") == 0 || strcmp(text, "no") == 0) {
        *out = false;
        return 0;
    }
    return zn_fail(err, "%s=%s: give 1 (or yes) to turn it on, 0 (or no) to turn it off", what,
                   text);
}

static int parse_port_range(const char *what, const char *text, struct zr_options *opts,
                            struct zn_error *err)
{
    const char *p = text;
    uint64_t first, last;

    if (zn_parse_digits(&p, &first) < 0 || *p++ != '-' || zn_parse_digits(&p, &last) < 0 || *p)
        return zn_fail(err, "%s '%s' is not a port range such as 29500-30499", what, text);
    if (first < 1024 || last > 65535 || first > last)
        return zn_fail(err, "%s %s: ports must be 1024-65535 and the range must not run backwards",
                       what, text);
    opts->port_first = (unsigned)first;
    opts->port_last = (unsigned)last;
    return 0;
}

static int parse_busbw(const char *what, const char *text, double *out, struct zn_error *err)
{
    char *end = NULL;
    double v = strtod(text, &end);

    if (!*text || *end || !(v >= 0) || v > 1e6)
        return zn_fail(err, "%s '%s' is not a bandwidth in GB/s such as 150", what, text);
    *out = v;
    return 0;
}

struct option_target {
    int id;
    const char *name; /* for messages, with the dashes */
    const char *env;
};

static const struct option_target targets[] = {
    {'b', "--bind", "ZENITH_BIND"},
    {'m', "--mem", "ZENITH_MEM"},
    {'p', "--port-range", "ZENITH_PORT_RANGE"},
    {'a', "--master-addr", "ZENITH_MASTER_ADDR"},
    {'i', "--iface", "ZENITH_IFACE"},
    {OPT_SHARE_GPUS, "--share-gpus", "ZENITH_SHARE_GPUS"},
    {OPT_PREFLIGHT, "--preflight", "ZENITH_PREFLIGHT"},
    {OPT_PREFLIGHT_SIZE, "--preflight-size", "ZENITH_PREFLIGHT_SIZE"},
    {OPT_PREFLIGHT_MIN_BUSBW, "--preflight-min-busbw", "ZENITH_PREFLIGHT_MIN_BUSBW"},
    {'d', "--data", "ZENITH_DATA"},
    {'t', "--timing", "ZENITH_TIMING"},
    {'v', "--verbose", "ZENITH_VERBOSE"},
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

/* Rank 0 hands MASTER_ADDR to the others as one word of its PMIx rendezvous: anything but a
 * host name or an address literal (spaces, control characters) would reach them cut short. */
static int check_master_addr(const char *what, const char *value, struct zn_error *err)
{
    size_t len = strlen(value);

    if (!len)
        return zn_fail(err, "%s needs a value", what);
    if (len > 253 || value[strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789.-:_%")] != '\0')
        return zn_fail(err,
                       "%s '%s' is not a host name or IP address (letters, digits and . - : _ %% "
                       "only, at most 253 characters)",
                       what, value);
    return 0;
}

/* A Linux interface name as the kernel takes one (below IFNAMSIZ, no '/' or white space). */
static int check_iface(const char *what, const char *value, struct zn_error *err)
{
    bool plain = true;

    if (!*value)
        return zn_fail(err, "%s needs a value", what);
    for (const char *p = value; *p; p++)
        plain &= *p != '/' && *p != ':' && isgraph((unsigned char)*p);
    if (!plain || strlen(value) >= 16)
        return zn_fail(err,
                       "%s '%s' is not a network interface name (under 16 characters, no '/', "
                       "':' or spaces; see 'ip link')",
                       what, value);
    return 0;
}

/* Where each value of `opts` lives, so the command line and the environment share one parser. */
static int set_value(struct zr_options *opts, const struct option_target *t, const char *what,
                     const char *value, struct zn_error *err)
{
    switch (t->id) {
    case 'b':
        return zn_bind_option_parse(what, value, &opts->bind, &opts->report, err);
    case 'm':
        return zn_mem_parse(what, value, &opts->mem, err);
    case 'p':
        return parse_port_range(what, value, opts, err);
    case 'a':
        if (check_master_addr(what, value, err) < 0)
            return -1;
        opts->master_addr = value;
        return 0;
    case 'i':
        if (check_iface(what, value, err) < 0)
            return -1;
        opts->iface = value;
        return 0;
    case OPT_SHARE_GPUS:
        return parse_flag(what, value, &opts->share_gpus, err);
    case OPT_PREFLIGHT:
        return parse_flag(what, value, &opts->preflight, err);
    case 'd':
        zn_dataspec_clear(&opts->data);
        if (zn_dataspec_parse(what, value, &opts->data, err) < 0)
            return -1;
        opts->data_given = true;
        return 0;
    case 't':
        return parse_flag(what, value, &opts->timing, err);
    case 'v':
        return parse_flag(what, value, &opts->verbose, err);
    case OPT_PREFLIGHT_SIZE:
        return zn_parse_size(what, value, &opts->preflight_bytes, err);
    case OPT_PREFLIGHT_MIN_BUSBW:
        return parse_busbw(what, value, &opts->preflight_min_busbw, err);
    }
    return zn_fail(err, "unknown option %s", what);
}

static const struct option_target *target(int id)
{
    for (size_t i = 0; i < NTARGETS; i++)
        if (targets[i].id == id)
            return &targets[i];
    return NULL;
}

enum zr_parse_result zr_options_parse(int argc, char **argv, struct zr_options *opts,
                                      struct zn_error *err)
{
    static const struct option longopts[] = {
        {"bind", required_argument, NULL, 'b'},
        {"mem", required_argument, NULL, 'm'},
        {"port-range", required_argument, NULL, 'p'},
        {"master-addr", required_argument, NULL, 'a'},
        {"iface", required_argument, NULL, 'i'},
        {"share-gpus", no_argument, NULL, OPT_SHARE_GPUS},
        {"preflight", no_argument, NULL, OPT_PREFLIGHT},
        {"preflight-size", required_argument, NULL, OPT_PREFLIGHT_SIZE},
        {"preflight-min-busbw", required_argument, NULL, OPT_PREFLIGHT_MIN_BUSBW},
        {"data", required_argument, NULL, 'd'},
        {"timing", no_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    bool given[NTARGETS] = {false};
    int c;

    memset(opts, 0, sizeof(*opts));
    opts->bind = ZN_BIND_AUTO;
    opts->mem = ZN_MEM_DEFAULT;
    opts->port_first = 29500;
    opts->port_last = 30499;
    opts->preflight_bytes = 64ull << 20;

    /* 0, not 1: glibc then starts afresh, dropping its place inside a group of short options
     * ("-hv") that an earlier parse, of another argv, stopped in. */
    optind = 0;
    opterr = 0;
    /* '+': options end at PROGRAM, so its own options are left alone. */
    while ((c = getopt_long(argc, argv, "+:b:m:p:a:i:d:tvhV", longopts, NULL)) != -1) {
        const struct option_target *t;

        if (c == 'h')
            return ZR_PARSE_HELP;
        if (c == 'V')
            return ZR_PARSE_VERSION;
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            if (c == ':')
                zn_fail(err, "%s needs a value; see zenith-run --help", bad);
            else
                zn_fail(err, "unknown option %s; see zenith-run --help", bad);
            return ZR_PARSE_ERROR;
        }
        t = target(c);
        if (set_value(opts, t, t->name, optarg ? optarg : "1", err) < 0)
            return ZR_PARSE_ERROR;
        given[t - targets] = true;
        opts->placement_given |= c == 'b' || c == 'm';
    }
    for (size_t i = 0; i < NTARGETS; i++) {
        const char *value = getenv(targets[i].env);
        if (!given[i] && value && set_value(opts, &targets[i], targets[i].env, value, err) < 0)
            return ZR_PARSE_ERROR;
    }
    if (optind >= argc) {
        zn_fail(err, "no program to run; usage: zenith-run [OPTIONS] PROGRAM [ARGS...]");
        return ZR_PARSE_ERROR;
    }
    opts->program = &argv[optind];
    return ZR_PARSE_RUN;
}

void zr_options_clear(struct zr_options *opts)
{
    zn_dataspec_clear(&opts->data);
    opts->data_given = false;
}
