/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-run's parts that need no Slurm: options, Slurm's compressed variables, the env://
 * contract, the child's environment, port claims (real sockets, real processes) and the
 * supervisor (real children, real signals). */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/contract.h"
#include "launcher/options.h"
#include "launcher/port.h"
#include "launcher/slurmenv.h"
#include "launcher/supervise.h"
#include "spank/portdir.h"
#include "tests/unit/testutil.h"

static enum zr_parse_result parse(struct zr_options *o, struct zn_error *err, ...)
{
    static char *argv[32];
    va_list ap;
    int argc = 0;

    va_start(ap, err);
    argv[argc++] = "zenith-run";
    for (char *a; (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return zr_options_parse(argc, argv, o, err);
}

START_TEST(options_defaults_and_program)
{
    struct zr_options o;
    struct zn_error err;

    ck_assert_int_eq(parse(&o, &err, "python3", "-v", "train.py", NULL), ZR_PARSE_RUN);
    ck_assert_int_eq(o.bind, ZN_BIND_AUTO);
    ck_assert_int_eq(o.port_first, 29500);
    ck_assert_int_eq(o.port_last, 30499);
    ck_assert(!o.verbose && !o.timing && !o.preflight && !o.placement_given);
    /* Options end at the program: its own -v is its own. */
    ck_assert_str_eq(o.program[0], "python3");
    ck_assert_str_eq(o.program[1], "-v");

    ck_assert_int_eq(parse(&o, &err, "-b", "core,verbose", "--mem=interleave", "-p", "40000-40009",
                           "--timing", "--preflight-size", "1M", "--", "env", NULL),
                     ZR_PARSE_RUN);
    ck_assert_int_eq(o.bind, ZN_BIND_CORE);
    ck_assert(o.report && o.placement_given && o.timing);
    ck_assert_int_eq(o.mem, ZN_MEM_INTERLEAVE);
    ck_assert_int_eq(o.port_first, 40000);
    ck_assert_int_eq(o.preflight_bytes, 1u << 20);
    ck_assert_str_eq(o.program[0], "env");
    ck_assert_int_eq(parse(&o, &err, "--help", NULL), ZR_PARSE_HELP);
    ck_assert_int_eq(parse(&o, &err, "-V", "x", NULL), ZR_PARSE_VERSION);
}
END_TEST

START_TEST(options_environment)
{
    struct zr_options o;
    struct zn_error err;

    setenv("ZENITH_BIND", "numa", 1);
    setenv("ZENITH_TIMING", "1", 1);
    setenv("ZENITH_PORT_RANGE", "31000-31099", 1);
    ck_assert_int_eq(parse(&o, &err, "true", NULL), ZR_PARSE_RUN);
    ck_assert_int_eq(o.bind, ZN_BIND_NUMA);
    ck_assert(o.timing);
    /* The environment is a default: it does not count as asking to override the plugin. */
    ck_assert(!o.placement_given);
    ck_assert_int_eq(o.port_first, 31000);
    /* The command line wins. */
    ck_assert_int_eq(parse(&o, &err, "--bind", "socket", "-p", "32000-32001", "true", NULL),
                     ZR_PARSE_RUN);
    ck_assert_int_eq(o.bind, ZN_BIND_SOCKET);
    ck_assert_int_eq(o.port_last, 32001);

    setenv("ZENITH_TIMING", "maybe", 1);
    ck_assert_int_eq(parse(&o, &err, "true", NULL), ZR_PARSE_ERROR);
    ck_assert_str_eq(err.text,
                     "zenith: ZENITH_TIMING=maybe: give 1 (or yes) to turn it on, 0 (or no) to "
                     "turn it off");
    unsetenv("ZENITH_TIMING");
    unsetenv("ZENITH_BIND");
    unsetenv("ZENITH_PORT_RANGE");
}
END_TEST

START_TEST(options_refused)
{
    static const struct {
        const char *args[4];
        const char *says;
    } bad[] = {
        {{"--bind=fast", "true"}, "--bind=fast is not a bind mode"},
        {{"--mem", "near", "true"}, "--mem=near is not a memory policy"},
        {{"--port-range", "80-90", "true"}, "--port-range 80-90: ports must be 1024-65535"},
        {{"--port-range", "3000-2000", "true"}, "must not run backwards"},
        {{"--port-range", "3000", "true"}, "--port-range '3000' is not a port range"},
        {{"--preflight-size", "0", "true"}, "--preflight-size"},
        {{"--preflight-min-busbw", "-1", "true"}, "--preflight-min-busbw '-1' is not a bandwidth"},
        {{"--frobnicate", "true"}, "unknown option --frobnicate"},
        {{"--data", "seq_len=8", "true"}, "--data: path= is missing"},
        {{"--data", "path=/d/x.bin,seq_len=8,colour=red", "true"}, "--data: unknown key 'colour'"},
        {{"--bind"}, "--bind needs a value"},
        {{"-t"}, "no program to run"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zr_options o;
        struct zn_error err = {{0}};
        ck_assert_int_eq(parse(&o, &err, bad[i].args[0], bad[i].args[1], bad[i].args[2], NULL),
                         ZR_PARSE_ERROR);
        ck_assert_msg(strstr(err.text, bad[i].says) && strncmp(err.text, "zenith: ", 8) == 0,
                      "%s: %s", bad[i].args[0], err.text);
    }
}
END_TEST

/* A parse that stopped inside a group of short options ("-hv" returns at h) must not leave
 * getopt in the middle of that group for the next parse, whose argv may be another array (the
 * fuzzer found a use after free this way). */
START_TEST(options_parse_again_after_a_stop_inside_a_group)
{
    char *first[] = {"zenith-run", "-hv", "true", NULL};
    char *second[] = {"zenith-run", "sh", "-c", "true", NULL};
    struct zr_options o;
    struct zn_error err = {{0}};

    ck_assert_int_eq(zr_options_parse(3, first, &o, &err), ZR_PARSE_HELP);
    ck_assert_int_eq(zr_options_parse(4, second, &o, &err), ZR_PARSE_RUN);
    ck_assert_msg(!o.verbose, "-v of the earlier argv leaked into this parse");
    ck_assert_ptr_eq(o.program, &second[1]);
    zr_options_clear(&o);
}
END_TEST

START_TEST(slurm_tasks_per_node)
{
    struct zn_error err;
    unsigned n = 0;

    ck_assert_int_eq(zr_tasks_on_node("V", "2(x3),1", 0, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(zr_tasks_on_node("V", "2(x3),1", 2, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(zr_tasks_on_node("V", "2(x3),1", 3, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(zr_tasks_on_node("V", "4", 0, &n, &err), 0);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(zr_tasks_on_node("V", "2(x3),1", 4, &n, &err), -1);
    ck_assert_str_eq(err.text, "zenith: V=2(x3),1 names 4 nodes, but this is node 4 of the step");
    for (const char *const *t =
             (const char *const[]){"", "2(x", "2(x0)", "0", "2,", "a", "2(x3)1", NULL};
         *t; t++) {
        ck_assert_int_eq(zr_tasks_on_node("V", *t, 0, &n, &err), -1);
        ck_assert_msg(strstr(err.text, "is not a Slurm tasks-per-node list"), "%s: %s", *t,
                      err.text);
    }
}
END_TEST

START_TEST(slurm_first_host)
{
    static const char *const cases[][2] = {
        {"zn[1-4]", "zn1"},
        {"gpu[07-09,12],cpu1", "gpu07"},
        {"host", "host"},
        {"a,b", "a"},
        {"rack[2-3]-n[5-6]", "rack2-n5"},
        {"n[3,5]", "n3"},
        {"node-[10-11].ib", "node-10.ib"},
    };
    struct zn_error err;
    char buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(zr_first_host("L", cases[i][0], buf, sizeof(buf), &err), 0);
        ck_assert_str_eq(buf, cases[i][1]);
    }
    for (const char *const *t = (const char *const[]){"", "zn[1-4", "[]", ",a", NULL}; *t; t++) {
        ck_assert_int_eq(zr_first_host("L", *t, buf, sizeof(buf), &err), -1);
        ck_assert_msg(strstr(err.text, "is not a Slurm host list"), "%s", err.text);
    }
    ck_assert_int_eq(zr_first_host("L", "averyveryverylonghostname", buf, 8, &err), -1);
}
END_TEST

START_TEST(contract_variables)
{
    struct zr_world w = {.via = ZR_BOOT_PMIX,
                         .rank = 5,
                         .size = 8,
                         .local_rank = 1,
                         .local_size = 2,
                         .node_rank = 2,
                         .nnodes = 4,
                         .job_step = "12.0"};
    struct zr_rendezvous rv = {.master_addr = "10.0.0.1", .master_port = 29611};
    struct zn_env env = {0};
    struct zn_error err;

    ck_assert_int_eq(zr_contract_env(&w, &rv, &env, &err), 0);
    static const char *const want[][2] = {
        {"RANK", "5"},
        {"WORLD_SIZE", "8"},
        {"LOCAL_RANK", "1"},
        {"LOCAL_WORLD_SIZE", "2"},
        {"NODE_RANK", "2"},
        {"GROUP_RANK", "2"},
        {"GROUP_WORLD_SIZE", "4"},
        {"ROLE_RANK", "5"},
        {"ROLE_WORLD_SIZE", "8"},
        {"MASTER_ADDR", "10.0.0.1"},
        {"MASTER_PORT", "29611"},
        {"TORCHELASTIC_RUN_ID", "12.0"},
        {"TORCHELASTIC_USE_AGENT_STORE", "False"},
        {"ZENITH_BOOTSTRAP", "pmix"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *got = zn_env_get(&env, want[i][0]);
        ck_assert_msg(got && strcmp(got, want[i][1]) == 0, "%s=%s", want[i][0], got);
    }
    ck_assert_ptr_null(zn_env_get(&env, "ZENITH_NCCL_UNIQUE_ID"));
    zn_env_clear(&env);
    memset(rv.nccl_id, 'a', ZR_NCCL_ID_HEX);
    ck_assert_int_eq(zr_contract_env(&w, &rv, &env, &err), 0);
    ck_assert_int_eq(strlen(zn_env_get(&env, "ZENITH_NCCL_UNIQUE_ID")), ZR_NCCL_ID_HEX);
    zn_env_clear(&env);
}
END_TEST

START_TEST(child_environment)
{
    char *base[] = {"PATH=/bin", "OMP_NUM_THREADS=7", "ZENITH_OWN=1", "RANK=99", NULL};
    const char *const drop[] = {"ZENITH_OWN", NULL};
    struct zn_env plan = {0}, contract = {0};
    struct zn_error err;
    char **envp;
    size_t n = 0;

    zn_env_add(&plan, true, "OMP_NUM_THREADS", "2");   /* the user's 7 stays */
    zn_env_add(&plan, true, "OMP_PROC_BIND", "close"); /* not set by the user: added */
    zn_env_add(&plan, false, "ZENITH_CPUS", "0-1");
    zn_env_add(&contract, false, "RANK", "3"); /* replaces a stale RANK */
    const struct zn_env *sets[] = {&plan, &contract};
    envp = zr_child_env(base, drop, sets, 2);
    ck_assert_ptr_nonnull(envp);
    for (; envp[n]; n++)
        ;
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(envp[0], "PATH=/bin");
    ck_assert_str_eq(envp[1], "OMP_NUM_THREADS=7");
    ck_assert_str_eq(envp[2], "RANK=3");
    ck_assert_str_eq(envp[3], "OMP_PROC_BIND=close");
    ck_assert_str_eq(envp[4], "ZENITH_CPUS=0-1");
    zr_child_env_free(envp);
    zn_env_clear(&plan);
    zn_env_clear(&contract);
    (void)err;
}
END_TEST

static char claims[64];

static void make_claims_dir(void)
{
    snprintf(claims, sizeof(claims), "/tmp/zenith-test-ports.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(claims));
    chmod(claims, 01777);
}

static void remove_claims_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", claims);
    ck_assert_int_eq(system(cmd), 0);
}

/* `count` consecutive ports nothing is bound to, below the kernel's ephemeral range: ports
 * inside it (32768-60999 by default) are taken at random by outgoing connections and their
 * TIME_WAIT leftovers, which made fixed test ports fail now and then. */
static unsigned test_ports(unsigned count)
{
    unsigned low = 32768, high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    if (f) {
        ck_assert_int_eq(fscanf(f, "%u %u", &low, &high), 2);
        fclose(f);
    }
    (void)high;
    for (unsigned first = low > 2000 + count ? low - 1000 - count : 1024; first >= 1024;
         first -= count) {
        unsigned i = 0;
        while (i < count && zr_port_is_free(first + i))
            i++;
        if (i == count)
            return first;
    }
    ck_abort_msg("no %u free ports below the ephemeral range starting at %u", count, low);
    return 0;
}

/* A claim file as another process would leave it: PORT.UID.PID holding "PID STARTTIME". */
static void plant(const char *name, long pid, unsigned long long started, uid_t owner)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", claims, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%ld %llu\n", pid, started);
    fclose(f);
    if (owner != geteuid())
        ck_assert_int_eq(chown(path, owner, (gid_t)-1), 0);
}

static bool claim_exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", claims, name);
    return access(path, F_OK) == 0;
}

static unsigned long long proc_start_time(long pid)
{
    char path[64], buf[1024];
    unsigned long long t = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
    fclose(f);
    ck_assert_int_eq(sscanf(strrchr(buf, ')') + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                            "%*d %*d %*d %llu",
                            &t),
                     1);
    return t;
}

/* A listening socket on a port of the range, so the search must skip it. */
static int listen_on(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
        return -1;
    return fd;
}

START_TEST(port_claims)
{
    struct zr_port_claim a, b, c;
    struct zn_error err;
    unsigned first = test_ports(4), last = first + 3;
    char name[64], want[160];

    make_claims_dir();
    ck_assert_int_eq(zr_port_guess(first, last, "12.0"), zr_port_guess(first, last, "12.0"));
    ck_assert_uint_ge(zr_port_guess(first, last, "13.0"), first);
    ck_assert_uint_le(zr_port_guess(first, last, "13.0"), last);

    /* The seed's own port is in use: the search moves on, and it never hands out a port twice
     * while the claim is held, even to the same job. */
    unsigned guess = zr_port_guess(first, last, "12.0");
    int busy = listen_on(guess);
    ck_assert_int_ge(busy, 0);
    ck_assert(!zr_port_is_free(guess));
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &a, &err), 0);
    ck_assert_uint_ne(a.port, guess);
    ck_assert(zr_port_is_free(a.port));
    /* The claim is this process's own file: no lock file, nothing shared to block on. */
    snprintf(name, sizeof(name), "%u.%u.%ld", a.port, (unsigned)geteuid(), (long)getpid());
    snprintf(want, sizeof(want), "%s/%s", claims, name);
    ck_assert_str_eq(a.path, want);
    ck_assert(claim_exists(name));
    ck_assert(!claim_exists(".lock"));
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &b, &err), 0);
    ck_assert_uint_ne(b.port, a.port);
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &c, &err), 0);
    ck_assert_uint_ne(c.port, a.port);
    ck_assert_uint_ne(c.port, b.port);
    /* Range used up: the message says how to get out. */
    struct zr_port_claim d;
    char range[64];
    snprintf(range, sizeof(range), "no free port in %u-%u", first, last);
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &d, &err), -1);
    ck_assert_msg(strstr(err.text, range) && strstr(err.text, "--port-range"), "%s", err.text);
    /* Released claims are free again. */
    zr_port_release(&b);
    ck_assert_int_eq(access(b.path, F_OK), -1);
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &d, &err), 0);
    zr_port_release(&a);
    zr_port_release(&c);
    zr_port_release(&d);
    close(busy);
    remove_claims_dir();
}
END_TEST

START_TEST(port_claims_of_other_processes)
{
    struct zr_port_claim mine;
    struct zn_error err;
    int to_child[2], from_child[2];
    unsigned first = test_ports(1), last = first;
    char name[64];
    pid_t pid;

    make_claims_dir();
    ck_assert_int_eq(pipe(to_child), 0);
    ck_assert_int_eq(pipe(from_child), 0);
    pid = fork();
    if (pid == 0) {
        struct zr_port_claim theirs;
        char go;
        int ok = zr_port_claim(claims, first, last, "x", &theirs, &err) == 0;
        ck_assert_int_eq(write(from_child[1], &ok, sizeof(ok)), sizeof(ok));
        ck_assert_int_eq(read(to_child[0], &go, 1), 1); /* hold the claim until told */
        _exit(0);                                       /* dies without releasing it */
    }
    int ok = 0;
    ck_assert_int_eq(read(from_child[0], &ok, sizeof(ok)), sizeof(ok));
    ck_assert(ok);
    /* A live process holds the only port. */
    ck_assert_int_eq(zr_port_claim(claims, first, last, "y", &mine, &err), -1);
    /* Once it is gone its claim lapses, though the file is still there; being this user's,
     * it is removed on the way. */
    ck_assert_int_eq(write(to_child[1], "x", 1), 1);
    waitpid(pid, NULL, 0);
    snprintf(name, sizeof(name), "%u.%u.%ld", first, (unsigned)geteuid(), (long)pid);
    ck_assert(claim_exists(name));
    ck_assert_int_eq(zr_port_claim(claims, first, last, "y", &mine, &err), 0);
    ck_assert_int_eq(mine.port, first);
    ck_assert(!claim_exists(name));
    zr_port_release(&mine);
    remove_claims_dir();
}
END_TEST

/* Whatever locks anybody holds in the directory, a claim never waits for them. */
START_TEST(port_claims_not_blocked_by_locks)
{
    struct zr_port_claim mine;
    struct zn_error err;
    unsigned first = test_ports(2), last = first + 1;
    char path[128];
    int fds[3];

    make_claims_dir();
    snprintf(path, sizeof(path), "%s/.lock", claims);
    fds[0] = open(path, O_RDONLY | O_CREAT, 0444);
    fds[1] = open(claims, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(fds[0], 0);
    ck_assert_int_ge(fds[1], 0);
    /* Another holder (its own open file descriptions, so its locks conflict with ours). */
    pid_t holder = fork();
    if (holder == 0) {
        int a = open(path, O_RDONLY), b = open(claims, O_RDONLY | O_DIRECTORY);
        if (a < 0 || b < 0 || flock(a, LOCK_EX) < 0 || flock(b, LOCK_EX) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    for (int i = 0; i < 100 && flock(fds[0], LOCK_EX | LOCK_NB) == 0; i++) {
        flock(fds[0], LOCK_UN);
        usleep(10000);
    }
    ck_assert_int_eq(flock(fds[0], LOCK_EX | LOCK_NB), -1); /* the holder has it now */
    alarm(5); /* a claim that waited would hang the test until Check's timeout */
    ck_assert_int_eq(zr_port_claim(claims, first, last, "x", &mine, &err), 0);
    alarm(0);
    fds[2] = open(mine.path, O_RDONLY);
    ck_assert_int_ge(fds[2], 0);
    zr_port_release(&mine);
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    remove_claims_dir();
}
END_TEST

/* Claims that prove nothing: a name whose uid is not the file's owner, a pid that is gone or
 * was recycled, another user's name on a process of somebody else, junk. They neither take
 * the port nor make the claim fail; the caller's own dead ones are removed. */
START_TEST(port_claims_fakes_ignored)
{
    struct zr_port_claim mine;
    struct zn_error err;
    unsigned port = test_ports(1);
    uid_t me = geteuid(), other = me == 0 ? 65534 : me;
    char mine_wrong_owner[64], pid1_wrong_start[64], dead[64], pid1_other[64], buf[160];
    pid_t gone;

    make_claims_dir();
    gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);

    /* Names another uid than the file's owner (me), on my live process. */
    snprintf(mine_wrong_owner, sizeof(mine_wrong_owner), "%u.%u.%ld", port, me + 1, (long)getpid());
    plant(mine_wrong_owner, getpid(), proc_start_time(getpid()), me);
    /* pid 1, with a start time that is not pid 1's: a recycled pid. */
    snprintf(pid1_wrong_start, sizeof(pid1_wrong_start), "%u.%u.1", port, me);
    plant(pid1_wrong_start, 1, proc_start_time(1) + 12345, me);
    /* A process that is gone. */
    snprintf(dead, sizeof(dead), "%u.%u.%ld", port, me, (long)gone);
    plant(dead, gone, 1, me);
    /* pid 1 as it really is, claimed by a user pid 1 does not run as (as root: a file owned
     * by nobody; otherwise one of mine, since pid 1 is root's). */
    snprintf(pid1_other, sizeof(pid1_other), "%u.%u.1", port, other);
    plant(pid1_other, 1, proc_start_time(1), other);
    /* Junk, and a claim whose content names another pid than its name. */
    snprintf(buf, sizeof(buf), "%u", port);
    plant(buf, getpid(), proc_start_time(getpid()), me);
    snprintf(buf, sizeof(buf), "%u.x.y", port);
    plant(buf, getpid(), proc_start_time(getpid()), me);
    snprintf(buf, sizeof(buf), "%u.%u.%ld.9", port, me, (long)getpid());
    plant(buf, getpid(), proc_start_time(getpid()), me);
    snprintf(buf, sizeof(buf), "%u.%u.%ld", port, me, (long)getppid());
    plant(buf, getpid(), proc_start_time(getpid()), me);
    snprintf(buf, sizeof(buf), "%s/%u.%u.%ld", claims, port, me, 999999L);
    ck_assert_int_eq(symlink("/etc/passwd", buf), 0);
    ck_assert_int_eq(mkfifo(strcat(strcpy(buf, claims), "/0.0.0"), 0644), 0);

    ck_assert_msg(zr_port_claim(claims, port, port, "x", &mine, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(mine.port, port);
    ck_assert(!claim_exists(pid1_wrong_start));
    ck_assert(!claim_exists(dead));
    ck_assert(claim_exists(mine_wrong_owner)); /* not provably mine: left alone */
    ck_assert(claim_exists(pid1_other));
    zr_port_release(&mine);
    remove_claims_dir();
}
END_TEST

/* A file planted under the very name the claimer would use (another user's, or a symlink)
 * spoils that port for it, not the search. */
START_TEST(port_claims_name_planted)
{
    struct zr_port_claim mine;
    struct zn_error err;
    unsigned first = test_ports(2), last = first + 1;
    unsigned seeded = zr_port_guess(first, last, "x");
    char name[64], path[256];

    make_claims_dir();
    snprintf(name, sizeof(name), "%u.%u.%ld", seeded, (unsigned)geteuid(), (long)getpid());
    snprintf(path, sizeof(path), "%s/%s", claims, name);
    ck_assert_int_eq(symlink("/nonexistent", path), 0);
    ck_assert_msg(zr_port_claim(claims, first, last, "x", &mine, &err) == 0, "%s", err.text);
    ck_assert_uint_ne(mine.port, seeded);
    zr_port_release(&mine);
    remove_claims_dir();
}
END_TEST

/* Many zenith-runs of one job (the same seed) claiming at once never share a port, and none
 * runs out while a port is free. */
START_TEST(port_claims_concurrent)
{
    enum { CLAIMERS = 8 }; /* as many as ports: a claimer that yields must find the rest */
    unsigned first = test_ports(8), last = first + 7, got[CLAIMERS];
    int go[2], results[2], hold[2];
    pid_t pids[CLAIMERS];

    make_claims_dir();
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(results), 0);
    ck_assert_int_eq(pipe(hold), 0);
    for (int i = 0; i < CLAIMERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            struct zr_port_claim claim;
            struct zn_error err;
            char c;
            unsigned port = 0;

            close(go[1]);
            close(hold[1]);
            if (read(go[0], &c, 1) < 0) /* EOF: all start together */
                _exit(1);
            if (zr_port_claim(claims, first, last, "7.0", &claim, &err) == 0)
                port = claim.port;
            else
                fprintf(stderr, "claimer %d: %s\n", i, err.text);
            if (write(results[1], &port, sizeof(port)) != sizeof(port))
                _exit(1);
            if (read(hold[0], &c, 1) < 0) /* keep the claim until all have answered */
                _exit(1);
            zr_port_release(&claim);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]);
    close(hold[0]);
    for (int i = 0; i < CLAIMERS; i++)
        ck_assert_int_eq(read(results[0], &got[i], sizeof(got[i])), sizeof(got[i]));
    close(hold[1]);
    for (int i = 0; i < CLAIMERS; i++)
        waitpid(pids[i], NULL, 0);
    for (int i = 0; i < CLAIMERS; i++) {
        ck_assert_msg(got[i] >= first && got[i] <= last, "claimer %d got no port (%u)", i, got[i]);
        for (int j = 0; j < i; j++)
            ck_assert_msg(got[i] != got[j], "claimers %d and %d both got port %u", j, i, got[i]);
    }
    remove_claims_dir();
}
END_TEST

START_TEST(port_claim_directory_refused)
{
    struct zr_port_claim claim;
    struct zn_error err;
    unsigned port = test_ports(1);
    char sub[128];
    struct stat st;

    make_claims_dir();
    chmod(claims, 0777); /* writable by all and not sticky: anyone could delete claims */
    ck_assert_int_eq(zr_port_claim(claims, port, port, "x", &claim, &err), -1);
    ck_assert_msg(strstr(err.text, "not sticky") && strstr(err.text, "chmod 1777"), "%s", err.text);
    chmod(claims, 0770); /* the same for the group */
    ck_assert_int_eq(zr_port_claim(claims, port, port, "x", &claim, &err), -1);
    ck_assert_msg(strstr(err.text, "writable by group or others but not sticky"), "%s", err.text);

    /* A missing directory is made, sticky and writable by all, by whoever comes first. */
    chmod(claims, 0700);
    snprintf(sub, sizeof(sub), "%s/ports", claims);
    ck_assert_msg(zr_port_claim(sub, port, port, "x", &claim, &err) == 0, "%s", err.text);
    ck_assert_int_eq(stat(sub, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 01777);
    ck_assert_uint_eq(st.st_uid, geteuid());
    zr_port_release(&claim);

    /* Another user's directory: its owner could remove anybody's claims. */
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(sub, 65534, 65534), 0);
        ck_assert_int_eq(zr_port_claim(sub, port, port, "x", &claim, &err), -1);
        ck_assert_msg(strstr(err.text, sub) && strstr(err.text, "belongs to uid 65534") &&
                          strstr(err.text, "remove it") && strstr(err.text, "ZENITH_PORT_DIR"),
                      "%s", err.text);
    } else {
        printf("test_launcher: port_claim_directory_refused: another user's directory: "
               "skipped: needs root to chown\n");
    }
    remove_claims_dir();
    ck_assert_int_eq(zr_port_claim("/proc/no/such/dir", port, port, "x", &claim, &err), -1);
    ck_assert_msg(strstr(err.text, "cannot use the port claim directory /proc/no/such/dir"), "%s",
                  err.text);
}
END_TEST

/* The plugin's repair of the default directory, on a directory of the test's own. */
START_TEST(port_dir_fixed_by_plugin)
{
    char base[64], dir[128], msg[1024], cmd[512];
    struct stat st;

    if (geteuid() != 0) {
        printf("test_launcher: port_dir_fixed_by_plugin: skipped: the plugin does this as root "
               "only\n");
        return;
    }
    snprintf(base, sizeof(base), "/tmp/zenith-test-portdir.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
    snprintf(dir, sizeof(dir), "%s/zenith-ports", base);
    umask(022);

    /* Missing: made root's, 1777 despite the umask; then left alone. */
    ck_assert_int_eq(zn_portdir_fix(dir, msg, sizeof(msg)), 1);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 01777);
    ck_assert_int_eq(zn_portdir_fix(dir, msg, sizeof(msg)), 0);

    /* Root's but not 1777: its mode is set. */
    chmod(dir, 0755);
    ck_assert_int_eq(zn_portdir_fix(dir, msg, sizeof(msg)), 1);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 01777);

    /* A user's: moved aside (with what was in it), a fresh root one made. */
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    snprintf(cmd, sizeof(cmd), "touch %s/30000.65534.1", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(zn_portdir_fix(dir, msg, sizeof(msg)), 1);
    ck_assert_msg(strstr(msg, "owned by uid 65534") && strstr(msg, ".untrusted.65534."), "%s", msg);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 01777);
    snprintf(cmd, sizeof(cmd), "test -e %s/zenith-ports.untrusted.65534.*/30000.65534.1", base);
    ck_assert_int_eq(system(cmd), 0);

    /* A symlink: never followed, moved aside itself. */
    snprintf(cmd, sizeof(cmd), "rm -rf %s/zenith-ports.untrusted.* && rmdir %s && ln -s /etc %s",
             base, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(zn_portdir_fix(dir, msg, sizeof(msg)), 1);
    ck_assert_msg(strstr(msg, "a symlink"), "%s", msg);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode) && st.st_uid == 0);
    ck_assert_int_eq(stat("/etc", &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0755);

    /* A place it cannot be made: a message, no crash. */
    snprintf(dir, sizeof(dir), "/proc/no/such/zenith-ports");
    ck_assert_int_eq(zn_portdir_fix(dir, msg, sizeof(msg)), -1);
    ck_assert_msg(strstr(msg, dir), "%s", msg);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static struct zr_exit run_child(const char *script, int ready_fd_write, void (*on_ready)(void *),
                                void *ctx, int ready_read)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    extern char **environ;
    struct zr_child child;
    struct zr_exit how;
    struct zn_error err;

    ck_assert_int_eq(zr_spawn(argv, environ, ready_fd_write, &child, &err), 0);
    child.ready_fd = ready_read;
    zr_supervise(&child, on_ready, ctx, 500, &how);
    return how;
}

START_TEST(supervise_exit_status_and_signals)
{
    struct zn_error err;
    struct zr_exit how;

    ck_assert_int_eq(zr_signals_block(&err), 0);
    how = run_child("exit 0", -1, NULL, NULL, -1);
    ck_assert_int_eq(how.code, 0);
    how = run_child("exit 3", -1, NULL, NULL, -1);
    ck_assert_int_eq(how.code, 3);
    ck_assert_int_eq(how.signal, 0);
    how = run_child("kill -SEGV $$", -1, NULL, NULL, -1);
    ck_assert_int_eq(how.signal, SIGSEGV);
    ck_assert_int_eq(how.code, 128 + SIGSEGV);

    char *missing[] = {"zenith-no-such-program", NULL};
    struct zr_child child;
    ck_assert_int_eq(zr_spawn(missing, NULL, -1, &child, &err), -1);
    ck_assert_msg(strstr(err.text, "cannot start zenith-no-such-program") &&
                      strstr(err.text, "not found in PATH"),
                  "%s", err.text);
}
END_TEST

static void count_ready(void *ctx)
{
    (*(int *)ctx)++;
}

START_TEST(supervise_forwards_signals)
{
    char dir[] = "/tmp/zenith-test-signals.XXXXXX", script[1024], log[64], line[64] = "";
    struct zn_error err;
    int fds[2], ready = 0;
    struct zr_exit how;
    FILE *f;

    ck_assert_int_eq(zr_signals_block(&err), 0);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log, sizeof(log), "%s/log", dir);
    /* The child logs every forwarded signal it gets, says it is ready, and exits on TERM. */
    snprintf(script, sizeof(script),
             "trap 'echo USR1 >>%s' USR1; trap 'echo HUP >>%s' HUP; "
             "trap 'echo TERM >>%s; exit 42' TERM; echo 1 >&$ZENITH_READY_FD; "
             "while :; do sleep 0.05; done",
             log, log, log);
    ck_assert_int_eq(pipe(fds), 0);
    snprintf(line, sizeof(line), "%d", fds[1]);
    setenv("ZENITH_READY_FD", line, 1);
    if (fork() == 0) {
        /* Somebody (Slurm, a user) signals the supervisor, not the child. */
        usleep(300000);
        kill(getppid(), SIGUSR1);
        usleep(200000);
        kill(getppid(), SIGHUP);
        usleep(200000);
        kill(getppid(), SIGTERM);
        _exit(0);
    }
    how = run_child(script, fds[1], count_ready, &ready, fds[0]);
    unsetenv("ZENITH_READY_FD");
    ck_assert_int_eq(how.code, 42);
    ck_assert_int_eq(ready, 1);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char all[64] = "";
    size_t used = fread(all, 1, sizeof(all) - 1, f);
    all[used] = '\0';
    fclose(f);
    ck_assert_str_eq(all, "USR1\nHUP\nTERM\n");
    snprintf(script, sizeof(script), "rm -rf %s", dir);
    ck_assert_int_eq(system(script), 0);
}
END_TEST

START_TEST(supervise_leaves_no_orphans)
{
    struct zn_error err;
    struct zr_exit how;
    char marker[64], cmd[160];

    ck_assert_int_eq(zr_signals_block(&err), 0);
    /* A sleep nobody else runs: its length is this test's pid. */
    snprintf(marker, sizeof(marker), "sleep 3%06d", (int)getpid());
    /* The program leaves a grandchild that ignores SIGTERM: the supervisor, its subreaper,
     * must still end it (SIGKILL after the grace period) before returning. */
    snprintf(cmd, sizeof(cmd), "(trap '' TERM; exec %s) & sleep 0.2; exit 5", marker);
    how = run_child(cmd, -1, NULL, NULL, -1);
    ck_assert_int_eq(how.code, 5);
    snprintf(cmd, sizeof(cmd), "pgrep -x -f '%s' >/dev/null", marker);
    ck_assert_int_ne(system(cmd), 0);
}
END_TEST

START_TEST(supervise_passes_only_inherited_descriptors)
{
    char script[256], out[] = "/tmp/zenith-test-fds.XXXXXX";
    struct zn_error err;
    struct zr_exit how;
    int given, opened, fd;
    FILE *f;

    /* High numbers, so the listing's own descriptor cannot take one of them. */
    given = dup2(0, 100); /* as if zenith-run had been started with it */
    ck_assert_int_ge(given, 0);
    ck_assert_int_eq(zr_signals_block(&err), 0);
    opened = dup2(0, 101); /* zenith-run's own, without close-on-exec, as libraries open them */
    ck_assert_int_ge(opened, 0);
    fd = mkstemp(out);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(script, sizeof(script), "ls /proc/self/fd >%s", out);
    how = run_child(script, -1, NULL, NULL, -1);
    ck_assert_int_eq(how.code, 0);
    f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    bool saw_given = false, saw_opened = false;
    int n;
    while (fscanf(f, "%d", &n) == 1) {
        saw_given |= n == given;
        saw_opened |= n == opened;
    }
    fclose(f);
    unlink(out);
    ck_assert_msg(saw_given, "descriptor %d given to zenith-run did not reach the program", given);
    ck_assert_msg(!saw_opened, "zenith-run's own descriptor %d leaked into the program", opened);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("launcher");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, options_defaults_and_program);
    tcase_add_test(tc, options_environment);
    tcase_add_test(tc, options_refused);
    tcase_add_test(tc, options_parse_again_after_a_stop_inside_a_group);
    tcase_add_test(tc, slurm_tasks_per_node);
    tcase_add_test(tc, slurm_first_host);
    tcase_add_test(tc, contract_variables);
    tcase_add_test(tc, child_environment);
    tcase_add_test(tc, port_claims);
    tcase_add_test(tc, port_claims_of_other_processes);
    tcase_add_test(tc, port_claims_not_blocked_by_locks);
    tcase_add_test(tc, port_claims_fakes_ignored);
    tcase_add_test(tc, port_claims_name_planted);
    tcase_add_test(tc, port_claims_concurrent);
    tcase_add_test(tc, port_claim_directory_refused);
    tcase_add_test(tc, port_dir_fixed_by_plugin);
    tcase_add_test(tc, supervise_exit_status_and_signals);
    tcase_add_test(tc, supervise_forwards_signals);
    tcase_add_test(tc, supervise_leaves_no_orphans);
    tcase_add_test(tc, supervise_passes_only_inherited_descriptors);
    return test_run("launcher", tc);
}
