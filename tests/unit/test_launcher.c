/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-run's parts that need no Slurm: options, Slurm's compressed variables, the env://
 * contract, the child's environment, port claims (real sockets, real processes) and the
 * supervisor (real children, real signals). */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/contract.h"
#include "launcher/options.h"
#include "launcher/port.h"
#include "launcher/slurmenv.h"
#include "launcher/supervise.h"
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
    unsigned first = 47100, last = 47103;

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
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &b, &err), 0);
    ck_assert_uint_ne(b.port, a.port);
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &c, &err), 0);
    ck_assert_uint_ne(c.port, a.port);
    ck_assert_uint_ne(c.port, b.port);
    /* Range used up: the message says how to get out. */
    struct zr_port_claim d;
    ck_assert_int_eq(zr_port_claim(claims, first, last, "12.0", &d, &err), -1);
    ck_assert_msg(strstr(err.text, "no free port in 47100-47103") &&
                      strstr(err.text, "--port-range"),
                  "%s", err.text);
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
    unsigned first = 47200, last = 47200;
    char path[128];
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
    /* Once it is gone its claim lapses, though the file is still there. */
    ck_assert_int_eq(write(to_child[1], "x", 1), 1);
    waitpid(pid, NULL, 0);
    snprintf(path, sizeof(path), "%s/47200", claims);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(zr_port_claim(claims, first, last, "y", &mine, &err), 0);
    ck_assert_int_eq(mine.port, 47200);
    zr_port_release(&mine);
    remove_claims_dir();
}
END_TEST

START_TEST(port_claim_directory_refused)
{
    struct zr_port_claim claim;
    struct zn_error err;

    make_claims_dir();
    chmod(claims, 0777); /* writable by all and not sticky: anyone could delete claims */
    ck_assert_int_eq(zr_port_claim(claims, 47300, 47301, "x", &claim, &err), -1);
    ck_assert_msg(strstr(err.text, "not sticky") && strstr(err.text, "chmod 1777"), "%s", err.text);
    remove_claims_dir();
    ck_assert_int_eq(zr_port_claim("/proc/no/such/dir", 47300, 47301, "x", &claim, &err), -1);
    ck_assert_msg(strstr(err.text, "cannot use the port claim directory /proc/no/such/dir"), "%s",
                  err.text);
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
    tcase_add_test(tc, slurm_tasks_per_node);
    tcase_add_test(tc, slurm_first_host);
    tcase_add_test(tc, contract_variables);
    tcase_add_test(tc, child_environment);
    tcase_add_test(tc, port_claims);
    tcase_add_test(tc, port_claims_of_other_processes);
    tcase_add_test(tc, port_claim_directory_refused);
    tcase_add_test(tc, supervise_exit_status_and_signals);
    tcase_add_test(tc, supervise_forwards_signals);
    tcase_add_test(tc, supervise_leaves_no_orphans);
    tcase_add_test(tc, supervise_passes_only_inherited_descriptors);
    return test_run("launcher", tc);
}
