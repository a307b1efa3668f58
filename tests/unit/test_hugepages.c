/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/hugepages.h"
#include "tests/unit/testutil.h"

#define PAGE_2M   (UINT64_C(2) << 20)
#define PAGE_1G   (UINT64_C(1) << 30)
#define REAL_POOL "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"

/* Made by the unchecked fixtures, which run in the parent process: they still clean up after a
 * test child that failed an assertion or timed out. */
static char scratch[PATH_MAX];

struct fake {
    char sys[PATH_MAX];
    char state[PATH_MAX];
    struct zn_hugepage_ledger ledger;
};

/* Paths in the scratch tree are short; a truncated one would make a test pass for the wrong
 * reason, so it fails instead. */
static void format_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void format_path(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    ck_assert_msg(n >= 0 && (size_t)n < len, "path too long: %s", buf);
}

static void mkdir_p(const char *dir)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s", dir);
    for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static const char *pool_file_of(const struct fake *fk, unsigned node, uint64_t page_size)
{
    static char path[PATH_MAX];
    format_path(path, sizeof(path),
                "%s/devices/system/node/node%u/hugepages/hugepages-%" PRIu64 "kB", fk->sys, node,
                page_size >> 10);
    mkdir_p(path);
    format_path(path, sizeof(path),
                "%s/devices/system/node/node%u/hugepages/hugepages-%" PRIu64 "kB/nr_hugepages",
                fk->sys, node, page_size >> 10);
    return path;
}

static void set_pool_of(const struct fake *fk, unsigned node, uint64_t page_size, uint64_t pages)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64 "\n", pages);
    write_text(pool_file_of(fk, node, page_size), text);
}

static void set_pool(const struct fake *fk, unsigned node, uint64_t pages)
{
    set_pool_of(fk, node, PAGE_2M, pages);
}

static uint64_t pool_of(const struct fake *fk, unsigned node, uint64_t page_size)
{
    struct zn_error err;
    uint64_t pages = UINT64_MAX;
    ck_assert_msg(zn_hugepages_pool(&fk->ledger, node, page_size, &pages, &err) == 0, "%s",
                  err.text);
    return pages;
}

static uint64_t pool(const struct fake *fk, unsigned node)
{
    return pool_of(fk, node, PAGE_2M);
}

static const char *record(const struct fake *fk, const char *key)
{
    static char path[PATH_MAX];
    format_path(path, sizeof(path), "%s/%s", fk->state, key);
    return path;
}

/* A sysfs copy with 2M pools on NUMA nodes 0 (10 pages) and 1 (5 pages), and a state directory
 * whose parents do not exist yet. */
static void fake_tree(struct fake *fk, const char *name)
{
    format_path(fk->sys, sizeof(fk->sys), "%s/%s/sys", scratch, name);
    format_path(fk->state, sizeof(fk->state), "%s/%s/run/zenith/hugepages", scratch, name);
    fk->ledger = (struct zn_hugepage_ledger){.sysfs_root = fk->sys, .state_dir = fk->state};
    set_pool(fk, 0, 10);
    set_pool(fk, 1, 5);
}

/* No record and no temporary file. */
static void only_lock_left(const struct fake *fk)
{
    DIR *dir = opendir(fk->state);
    struct dirent *ent;

    ck_assert_ptr_nonnull(dir);
    while ((ent = readdir(dir)))
        ck_assert_msg(strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0 ||
                          strcmp(ent->d_name, "lock") == 0,
                      "left behind: %s", ent->d_name);
    closedir(dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

static void scratch_setup(void)
{
    snprintf(scratch, sizeof(scratch), "%s/zn-hugepages-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(scratch)) {
        perror(scratch);
        abort();
    }
}

static void scratch_teardown(void)
{
    nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

START_TEST(two_jobs_get_back_what_they_added)
{
    struct zn_hugepage_share a[] = {{0, 3}, {1, 2}}, b[] = {{0, 4}};
    struct zn_error err;
    struct fake fk;
    struct stat st;

    fake_tree(&fk, "two_jobs");
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "1234.zn1", PAGE_2M, a, 2, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 13);
    ck_assert_uint_eq(pool(&fk, 1), 7);
    ck_assert_str_eq(read_text(record(&fk, "1234.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 0 3\nnode 1 2\n");
    /* Root-only state: the ledger decides what gets freed. */
    ck_assert_int_eq(stat(fk.state, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    ck_assert_int_eq(stat(record(&fk, "lock"), &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);

    /* A second step of the same job asking for no more must not reserve again. */
    struct zn_hugepage_share again[] = {{0, 3}, {1, 1}};
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "1234.zn1", PAGE_2M, again, 2, NULL, &err),
                     1);
    ck_assert_uint_eq(pool(&fk, 0), 13);
    ck_assert_uint_eq(pool(&fk, 1), 7);
    ck_assert_str_eq(read_text(record(&fk, "1234.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 0 3\nnode 1 2\n");

    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "1235.zn1", PAGE_2M, b, 1, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 17);

    ck_assert_msg(zn_hugepages_release(&fk.ledger, "1234.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 14);
    ck_assert_uint_eq(pool(&fk, 1), 5);
    ck_assert(!exists(record(&fk, "1234.zn1")));
    ck_assert_int_eq(zn_hugepages_release(&fk.ledger, "1234.zn1", &err), 1);
    ck_assert_uint_eq(pool(&fk, 0), 14);

    ck_assert_msg(zn_hugepages_release(&fk.ledger, "1235.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);

    only_lock_left(&fk);
}
END_TEST

START_TEST(nothing_to_reserve_writes_no_record)
{
    struct zn_hugepage_share none[] = {{0, 0}, {1, 0}};
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "nothing");
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "1.zn1", PAGE_2M, NULL, 0, NULL, &err), 0);
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "1.zn1", PAGE_2M, none, 2, NULL, &err), 0);
    ck_assert(!exists(record(&fk, "1.zn1")));
    ck_assert_uint_eq(pool(&fk, 0), 10);
    /* Most jobs reserve nothing; their epilog must succeed without creating anything. */
    ck_assert_int_eq(zn_hugepages_release(&fk.ledger, "1.zn1", &err), 1);
    ck_assert(!exists(fk.state));

    /* A zero share between real ones is skipped and not recorded. */
    struct zn_hugepage_share mixed[] = {{0, 0}, {1, 1}};
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "2.zn1", PAGE_2M, mixed, 2, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_str_eq(read_text(record(&fk, "2.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 1 1\n");
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 6);
    ck_assert_int_eq(zn_hugepages_release(&fk.ledger, "2.zn1", &err), 0);
    ck_assert_uint_eq(pool(&fk, 1), 5);
}
END_TEST

START_TEST(bad_keys_are_refused)
{
    static const char *const bad[] = {"../x", "", "a b", "lock", ".hidden", "x/y", "job\n1"};
    /* As the message shows them: a newline written out, so a log line stays one line. */
    static const char *const shown[] = {"../x", "", "a b", "lock", ".hidden", "x/y", "job\\n1"};
    struct zn_hugepage_share share[] = {{0, 1}};
    struct zn_error err;
    struct fake fk;
    char quoted[64];

    fake_tree(&fk, "bad_keys");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(quoted, sizeof(quoted), "'%s'", shown[i]);
        ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, bad[i], PAGE_2M, share, 1, NULL, &err),
                         -1);
        ck_assert_msg(strstr(err.text, quoted) && strncmp(err.text, "zenith: ", 8) == 0, "%s",
                      err.text);
        ck_assert_int_eq(zn_hugepages_release(&fk.ledger, bad[i], &err), -1);
        ck_assert_msg(strstr(err.text, quoted), "%s", err.text);
    }
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, NULL, PAGE_2M, share, 1, NULL, &err), -1);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert(!exists(fk.state));
}
END_TEST

START_TEST(missing_pool_rolls_back)
{
    struct zn_hugepage_share shares[] = {{0, 3}, {1, 2}, {7, 1}};
    struct zn_error err;
    struct fake fk;
    uint64_t pages;

    fake_tree(&fk, "missing_pool");
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "9.zn1", PAGE_2M, shares, 3, NULL, &err), -1);
    ck_assert_msg(strstr(err.text, "no 2M huge page pool on NUMA node 7"), "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);
    ck_assert(!exists(record(&fk, "9.zn1")));

    /* A page size the node lacks is named the way users write it. */
    ck_assert_int_eq(zn_hugepages_pool(&fk.ledger, 0, UINT64_C(1) << 30, &pages, &err), -1);
    ck_assert_msg(strstr(err.text, "no 1G huge page pool on NUMA node 0"), "%s", err.text);
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "9.zn1", 1000, shares, 1, NULL, &err), -1);
    ck_assert_msg(strstr(err.text, "1000 bytes"), "%s", err.text);
}
END_TEST

START_TEST(damaged_record_is_kept)
{
    static const char *const damaged[] = {
        "garbage\n",
        "zenith-hugepages 1\npage_size 2097152\nnode 0 3", /* cut short */
        "zenith-hugepages 1\npage_size 2097152\nnode 0 -3\n",
        "zenith-hugepages 1\npage_size 0\nnode 0 3\n",
        "zenith-hugepages 3\npage_size 2097152\nnode 0 3\n",
        "",
        "zenith-hugepages 1\n",
        /* Version 1 never held two page sizes; a reader of that version would lose the second. */
        "zenith-hugepages 1\npage_size 2097152\nnode 0 3\npage_size 1073741824\nnode 0 1\n",
        "zenith-hugepages 2\nnode 0 3\npage_size 2097152\n",
        "zenith-hugepages 2\npage_size 2097152\nnode 0 3\npage_size 1073741824\nnode 0 x\n",
        /* One pool twice: which count the kernel holds would be a guess. */
        "zenith-hugepages 1\npage_size 2097152\nnode 0 3\nnode 0 3\n",
        "zenith-hugepages 2\npage_size 2097152\nnode 0 3\npage_size 1073741824\nnode 1 1\n"
        "page_size 2097152\nnode 0 1\n",
    };
    struct zn_hugepage_share more[] = {{0, 5}};
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "damaged");
    mkdir_p(fk.state);
    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        write_text(record(&fk, "5.zn1"), damaged[i]);
        ck_assert_int_eq(zn_hugepages_release(&fk.ledger, "5.zn1", &err), -1);
        ck_assert_msg(strstr(err.text, record(&fk, "5.zn1")) && strstr(err.text, "damaged"), "%s",
                      err.text);
        ck_assert_str_eq(read_text(record(&fk, "5.zn1")), damaged[i]);
        ck_assert_uint_eq(pool(&fk, 0), 10);
        /* A later step cannot know what the job holds, so it reserves nothing on top. */
        ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "5.zn1", PAGE_2M, more, 1, NULL, &err),
                         -1);
        ck_assert_msg(strstr(err.text, "damaged"), "%s", err.text);
        ck_assert_str_eq(read_text(record(&fk, "5.zn1")), damaged[i]);
        ck_assert_uint_eq(pool(&fk, 0), 10);
    }
}
END_TEST

START_TEST(release_floors_at_zero)
{
    struct zn_hugepage_share shares[] = {{1, 4}};
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "floor");
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "7.zn1", PAGE_2M, shares, 1, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 1), 9);
    set_pool(&fk, 1, 2); /* the admin shrank the pool meanwhile */
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "7.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 1), 0);
    ck_assert(!exists(record(&fk, "7.zn1")));
}
END_TEST

START_TEST(failed_release_keeps_what_is_owed)
{
    struct zn_hugepage_share shares[] = {{0, 3}, {1, 2}};
    struct zn_error err;
    struct fake fk;
    char node1[PATH_MAX], hidden[PATH_MAX];

    fake_tree(&fk, "owed");
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "8.zn1", PAGE_2M, shares, 2, NULL, &err) == 0,
                  "%s", err.text);
    /* Node 1's pool vanishes (say, offlined) between reserve and release. */
    format_path(node1, sizeof(node1), "%s/devices/system/node/node1", fk.sys);
    format_path(hidden, sizeof(hidden), "%s/devices/system/node/gone", fk.sys);
    ck_assert_int_eq(rename(node1, hidden), 0);
    ck_assert_int_eq(zn_hugepages_release(&fk.ledger, "8.zn1", &err), -1);
    ck_assert_msg(strstr(err.text, "NUMA node 1") && strstr(err.text, record(&fk, "8.zn1")), "%s",
                  err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    /* Node 0 was given back already, so the retry must only owe node 1. */
    ck_assert_str_eq(read_text(record(&fk, "8.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 1 2\n");
    ck_assert_int_eq(rename(hidden, node1), 0);
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "8.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);
}
END_TEST

/* The bug this guards against: step 1 asked for 1 page, step 2 for 4, and the job held 1 while
 * step 2's program ran into SIGBUS. */
START_TEST(later_step_gets_the_difference)
{
    struct zn_hugepage_share step1[] = {{0, 1}}, step2[] = {{0, 4}, {1, 2}}, step3[] = {{0, 2}},
                             step4[] = {{1, 3}, {0, 4}}, other[] = {{0, 2}};
    uint64_t added[2] = {99, 99};
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "top_up");
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "40.zn1", PAGE_2M, step1, 1, added, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(added[0], 1);
    ck_assert_uint_eq(pool(&fk, 0), 11);
    /* Another job between the steps: its pages must stay its own. */
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "41.zn1", PAGE_2M, other, 1, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 13);

    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "40.zn1", PAGE_2M, step2, 2, added, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(added[0], 3);
    ck_assert_uint_eq(added[1], 2);
    ck_assert_uint_eq(pool(&fk, 0), 16);
    ck_assert_uint_eq(pool(&fk, 1), 7);
    ck_assert_str_eq(read_text(record(&fk, "40.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 0 4\nnode 1 2\n");

    /* Asking for less than the job holds changes nothing, and never lowers a pool. */
    added[0] = 99;
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "40.zn1", PAGE_2M, step3, 1, added, &err), 1);
    ck_assert_uint_eq(added[0], 0);
    ck_assert_uint_eq(pool(&fk, 0), 16);
    ck_assert_uint_eq(pool(&fk, 1), 7);
    ck_assert_str_eq(read_text(record(&fk, "40.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 0 4\nnode 1 2\n");

    /* Only the pool that falls short is raised. */
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "40.zn1", PAGE_2M, step4, 2, added, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(added[0], 1);
    ck_assert_uint_eq(added[1], 0);
    ck_assert_uint_eq(pool(&fk, 0), 16);
    ck_assert_uint_eq(pool(&fk, 1), 8);
    ck_assert_str_eq(read_text(record(&fk, "40.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 0 4\nnode 1 3\n");

    /* The epilog gives back everything any step added: 4 + 3, not the first step's 1. */
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "40.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 12);
    ck_assert_uint_eq(pool(&fk, 1), 5);
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "41.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    only_lock_left(&fk);
}
END_TEST

/* Records as the plugin wrote them before steps could add to them. */
START_TEST(old_record_is_topped_up_and_released)
{
    struct zn_hugepage_share later[] = {{0, 5}};
    uint64_t added[1];
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "old_record");
    mkdir_p(fk.state);
    set_pool(&fk, 0, 13);
    set_pool(&fk, 1, 7);
    write_text(record(&fk, "50.zn1"),
               "zenith-hugepages 1\npage_size 2097152\nnode 0 3\nnode 1 2\n");
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "50.zn1", PAGE_2M, later, 1, added, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(added[0], 2);
    ck_assert_uint_eq(pool(&fk, 0), 15);
    ck_assert_str_eq(read_text(record(&fk, "50.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 0 5\nnode 1 2\n");
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "50.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);

    /* One with nothing but its page size is released as nothing owed. */
    write_text(record(&fk, "51.zn1"), "zenith-hugepages 1\npage_size 2097152\n");
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "51.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    only_lock_left(&fk);
}
END_TEST

START_TEST(steps_with_different_page_sizes_hold_both)
{
    struct zn_hugepage_share small[] = {{0, 2}}, big[] = {{0, 1}, {1, 1}}, more_small[] = {{0, 3}};
    uint64_t added[2];
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "sizes");
    set_pool_of(&fk, 0, PAGE_1G, 0);
    set_pool_of(&fk, 1, PAGE_1G, 0);
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "60.zn1", PAGE_2M, small, 1, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "60.zn1", PAGE_1G, big, 2, added, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(added[0], 1);
    ck_assert_uint_eq(added[1], 1);
    ck_assert_uint_eq(pool(&fk, 0), 12);
    ck_assert_uint_eq(pool_of(&fk, 0, PAGE_1G), 1);
    ck_assert_uint_eq(pool_of(&fk, 1, PAGE_1G), 1);
    ck_assert_str_eq(read_text(record(&fk, "60.zn1")),
                     "zenith-hugepages 2\npage_size 2097152\nnode 0 2\n"
                     "page_size 1073741824\nnode 0 1\nnode 1 1\n");

    /* The 1G pages do not count toward a 2M request. */
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "60.zn1", PAGE_2M, more_small, 1, added, &err) ==
                      0,
                  "%s", err.text);
    ck_assert_uint_eq(added[0], 1);
    ck_assert_uint_eq(pool(&fk, 0), 13);
    ck_assert_str_eq(read_text(record(&fk, "60.zn1")),
                     "zenith-hugepages 2\npage_size 2097152\nnode 0 3\n"
                     "page_size 1073741824\nnode 0 1\nnode 1 1\n");
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "60.zn1", PAGE_1G, big, 2, added, &err), 1);

    ck_assert_msg(zn_hugepages_release(&fk.ledger, "60.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);
    ck_assert_uint_eq(pool_of(&fk, 0, PAGE_1G), 0);
    ck_assert_uint_eq(pool_of(&fk, 1, PAGE_1G), 0);
    only_lock_left(&fk);
}
END_TEST

START_TEST(shortfall_of_a_later_step_changes_nothing)
{
    struct zn_hugepage_share first[] = {{0, 1}}, missing[] = {{0, 3}, {1, 2}, {7, 1}},
                             big[] = {{0, 1}, {1, 1}}, fits[] = {{0, 2}};
    const char *const kept = "zenith-hugepages 1\npage_size 2097152\nnode 0 1\n";
    uint64_t added[3] = {99, 99, 99};
    char tmp[PATH_MAX];
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "later_shortfall");
    set_pool_of(&fk, 0, PAGE_1G, 0); /* node 1 has no 1G pool */
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "70.zn1", PAGE_2M, first, 1, NULL, &err) == 0,
                  "%s", err.text);

    /* Nodes 0 and 1 are raised before node 7 is found missing; both come back down. */
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "70.zn1", PAGE_2M, missing, 3, added, &err),
                     -1);
    ck_assert_msg(strstr(err.text, "no 2M huge page pool on NUMA node 7"), "%s", err.text);
    ck_assert_uint_eq(added[0] + added[1] + added[2], 0);
    ck_assert_uint_eq(pool(&fk, 0), 11);
    ck_assert_uint_eq(pool(&fk, 1), 5);
    ck_assert_str_eq(read_text(record(&fk, "70.zn1")), kept);

    /* The same for a second page size. */
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "70.zn1", PAGE_1G, big, 2, NULL, &err), -1);
    ck_assert_msg(strstr(err.text, "no 1G huge page pool on NUMA node 1"), "%s", err.text);
    ck_assert_uint_eq(pool_of(&fk, 0, PAGE_1G), 0);
    ck_assert_str_eq(read_text(record(&fk, "70.zn1")), kept);

    /* The pages were granted but could not be recorded: unrecorded pages would never be given
     * back, so they are given back now. */
    format_path(tmp, sizeof(tmp), "%s/.70.zn1.tmp", fk.state);
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "70.zn1", PAGE_2M, fits, 1, NULL, &err), -1);
    ck_assert_msg(strstr(err.text, "could not create huge page record"), "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 11);
    ck_assert_str_eq(read_text(record(&fk, "70.zn1")), kept);
    ck_assert_int_eq(rmdir(tmp), 0);

    ck_assert_msg(zn_hugepages_release(&fk.ledger, "70.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);
}
END_TEST

START_TEST(failed_release_of_several_sizes_keeps_what_is_owed)
{
    struct zn_hugepage_share small[] = {{0, 2}}, big[] = {{0, 1}};
    char pool1g[PATH_MAX], hidden[PATH_MAX];
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "owed_sizes");
    set_pool_of(&fk, 0, PAGE_1G, 0);
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "80.zn1", PAGE_2M, small, 1, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "80.zn1", PAGE_1G, big, 1, NULL, &err) == 0,
                  "%s", err.text);
    format_path(pool1g, sizeof(pool1g),
                "%s/devices/system/node/node0/hugepages/hugepages-1048576kB", fk.sys);
    format_path(hidden, sizeof(hidden), "%s/devices/system/node/node0/hugepages/gone", fk.sys);
    ck_assert_int_eq(rename(pool1g, hidden), 0);
    ck_assert_int_eq(zn_hugepages_release(&fk.ledger, "80.zn1", &err), -1);
    ck_assert_msg(strstr(err.text, "no 1G huge page pool on NUMA node 0"), "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    /* Only one size is left, so the record is one an older plugin could release too. */
    ck_assert_str_eq(read_text(record(&fk, "80.zn1")),
                     "zenith-hugepages 1\npage_size 1073741824\nnode 0 1\n");
    ck_assert_int_eq(rename(hidden, pool1g), 0);
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "80.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool_of(&fk, 0, PAGE_1G), 0);
}
END_TEST

START_TEST(site_limit_bounds_what_the_steps_add_up_to)
{
    struct zn_hugepage_share node0[] = {{0, 4}}, node1[] = {{1, 4}}, both[] = {{0, 2}, {1, 2}},
                             big[] = {{0, 1}, {1, 1}}, big_again[] = {{1, 1}}, small[] = {{0, 1}};
    const char *const kept = "zenith-hugepages 1\npage_size 2097152\nnode 0 4\n";
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "limit");
    set_pool_of(&fk, 0, PAGE_1G, 0);
    set_pool_of(&fk, 1, PAGE_1G, 0);
    fk.ledger.max_bytes = 4 * PAGE_2M;
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "100.zn1", PAGE_2M, node0, 1, NULL, &err) == 0,
                  "%s", err.text);
    /* Each step is within the limit, the two together are not. */
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "100.zn1", PAGE_2M, node1, 1, NULL, &err),
                     -1);
    ck_assert_msg(strstr(err.text, "to 16M in all") && strstr(err.text, "hold 8M") &&
                      strstr(err.text, "hugepages_max"),
                  "%s", err.text);
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "100.zn1", PAGE_2M, both, 2, NULL, &err), -1);
    ck_assert_uint_eq(pool(&fk, 0), 14);
    ck_assert_uint_eq(pool(&fk, 1), 5);
    ck_assert_str_eq(read_text(record(&fk, "100.zn1")), kept);
    /* Asking for what the job holds needs nothing new, so nothing to refuse. */
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "100.zn1", PAGE_2M, node0, 1, NULL, &err), 1);
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "100.zn1", &err) == 0, "%s", err.text);

    /* One step's own request, rounded up to whole pages, was checked when it was submitted; a
     * later step asking for no more than the job holds is never refused, even though the job
     * holds more than the limit. */
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "101.zn1", PAGE_1G, big, 2, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "101.zn1", PAGE_1G, big_again, 1, NULL, &err),
                     1);
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "101.zn1", PAGE_2M, small, 1, NULL, &err),
                     -1);
    ck_assert_msg(strstr(err.text, "other page sizes"), "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "101.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool_of(&fk, 0, PAGE_1G), 0);
    ck_assert_uint_eq(pool_of(&fk, 1, PAGE_1G), 0);
}
END_TEST

START_TEST(a_numa_node_given_twice_is_refused)
{
    struct zn_hugepage_share twice[] = {{0, 1}, {1, 1}, {0, 2}}, zero_twice[] = {{0, 1}, {0, 0}};
    struct zn_error err;
    struct fake fk;

    fake_tree(&fk, "twice");
    ck_assert_int_eq(zn_hugepages_reserve(&fk.ledger, "90.zn1", PAGE_2M, twice, 3, NULL, &err), -1);
    ck_assert_msg(strstr(err.text, "NUMA node 0 is given twice"), "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert(!exists(fk.state));
    /* A share of nothing is no share. */
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "90.zn1", PAGE_2M, zero_twice, 2, NULL, &err) ==
                      0,
                  "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 11);
}
END_TEST

/* Steps of one job starting at once on a node: whatever the order, the job ends up holding the
 * largest request, and gives back exactly that. */
START_TEST(concurrent_steps_hold_the_largest)
{
    enum { STEPS = 8 };
    struct zn_error err;
    struct fake fk;
    pid_t pids[STEPS];
    int status;

    fake_tree(&fk, "concurrent_steps");
    for (int j = 0; j < STEPS; j++) {
        pids[j] = fork();
        ck_assert_int_ge(pids[j], 0);
        if (pids[j] == 0) {
            struct zn_hugepage_share shares[] = {{0, (uint64_t)j + 1}, {1, STEPS - (uint64_t)j}};
            int rc = zn_hugepages_reserve(&fk.ledger, "95.zn1", PAGE_2M, shares, 2, NULL, &err);
            _exit(rc == 0 || rc == 1 ? 0 : 1);
        }
    }
    for (int j = 0; j < STEPS; j++) {
        ck_assert_int_eq(waitpid(pids[j], &status, 0), pids[j]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "step %d: status %d", j,
                      status);
    }
    ck_assert_uint_eq(pool(&fk, 0), 10 + STEPS);
    ck_assert_uint_eq(pool(&fk, 1), 5 + STEPS);
    ck_assert_str_eq(read_text(record(&fk, "95.zn1")),
                     "zenith-hugepages 1\npage_size 2097152\nnode 0 8\nnode 1 8\n");
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "95.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);
}
END_TEST

/* Without the lock, concurrent read-modify-writes of one pool lose updates. */
START_TEST(concurrent_jobs_do_not_lose_pages)
{
    enum { JOBS = 8, ROUNDS = 25 };
    struct zn_error err;
    struct fake fk;
    pid_t pids[JOBS];
    int status;

    fake_tree(&fk, "concurrent");
    for (int j = 0; j < JOBS; j++) {
        pids[j] = fork();
        ck_assert_int_ge(pids[j], 0);
        if (pids[j] == 0) {
            struct zn_hugepage_share shares[] = {{0, 1}, {1, 2}};
            char key[32];
            for (int r = 0; r < ROUNDS; r++) {
                snprintf(key, sizeof(key), "%d.zn%d", r, j);
                if (zn_hugepages_reserve(&fk.ledger, key, PAGE_2M, shares, 2, NULL, &err) != 0)
                    _exit(1);
                if (r + 1 < ROUNDS && zn_hugepages_release(&fk.ledger, key, &err) != 0)
                    _exit(2);
            }
            _exit(0);
        }
    }
    for (int j = 0; j < JOBS; j++) {
        ck_assert_int_eq(waitpid(pids[j], &status, 0), pids[j]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "job %d: status %d", j,
                      status);
    }
    ck_assert_uint_eq(pool(&fk, 0), 10 + JOBS);
    ck_assert_uint_eq(pool(&fk, 1), 5 + 2 * JOBS);

    for (int j = 0; j < JOBS; j++) {
        pids[j] = fork();
        ck_assert_int_ge(pids[j], 0);
        if (pids[j] == 0) {
            char key[32];
            snprintf(key, sizeof(key), "%d.zn%d", ROUNDS - 1, j);
            _exit(zn_hugepages_release(&fk.ledger, key, &err) == 0 ? 0 : 1);
        }
    }
    for (int j = 0; j < JOBS; j++) {
        ck_assert_int_eq(waitpid(pids[j], &status, 0), pids[j]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ck_assert_uint_eq(pool(&fk, 0), 10);
    ck_assert_uint_eq(pool(&fk, 1), 5);
}
END_TEST

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

START_TEST(busy_lock_is_waited_for_then_given_up)
{
    struct zn_hugepage_share shares[] = {{0, 1}};
    struct zn_error err;
    struct timespec t0;
    struct fake fk;
    int ready[2], fd, status;
    pid_t holder;
    char c;

    fake_tree(&fk, "lock");
    mkdir_p(fk.state);
    ck_assert_int_eq(pipe(ready), 0);
    holder = fork();
    ck_assert_int_ge(holder, 0);
    if (holder == 0) {
        int lock = open(record(&fk, "lock"), O_RDWR | O_CREAT, 0600);
        if (lock < 0 || flock(lock, LOCK_EX) < 0 || write(ready[1], "x", 1) != 1)
            _exit(1);
        usleep(300 * 1000);
        _exit(0);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(zn_hugepages_reserve(&fk.ledger, "3.zn1", PAGE_2M, shares, 1, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_double_ge(seconds_since(&t0), 0.2);
    ck_assert_int_eq(waitpid(holder, &status, 0), holder);
    ck_assert_uint_eq(pool(&fk, 0), 11);

    /* A holder that never lets go costs about 10 s, then a message naming the lock. flock
     * locks belong to the open file, so this process's own descriptor blocks the call. */
    fd = open(record(&fk, "lock"), O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(zn_hugepages_release(&fk.ledger, "3.zn1", &err), -1);
    double waited = seconds_since(&t0);
    ck_assert_msg(waited >= 9.9 && waited < 20, "waited %.2f s", waited);
    ck_assert_msg(strstr(err.text, record(&fk, "lock")) && strstr(err.text, "gave up"), "%s",
                  err.text);
    ck_assert_uint_eq(pool(&fk, 0), 11);
    ck_assert(exists(record(&fk, "3.zn1")));
    close(fd);
    ck_assert_msg(zn_hugepages_release(&fk.ledger, "3.zn1", &err) == 0, "%s", err.text);
    ck_assert_uint_eq(pool(&fk, 0), 10);
}
END_TEST

/* ---- the real kernel: only as root with a writable 2M pool on node 0 ---- */

static char kernel_skip[256];
static uint64_t kernel_initial;

static uint64_t meminfo(const char *field)
{
    char line[256];
    size_t len = strlen(field);
    uint64_t value = UINT64_MAX;
    FILE *f = fopen("/proc/meminfo", "r");

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            value = strtoull(line + len + 1, NULL, 10);
    fclose(f);
    ck_assert_msg(value != UINT64_MAX, "/proc/meminfo has no %s", field);
    return value;
}

static void kernel_setup(void)
{
    char text[32];
    FILE *f;

    scratch_setup();
    kernel_skip[0] = '\0';
    if (geteuid() != 0) {
        snprintf(kernel_skip, sizeof(kernel_skip), "not running as root");
        return;
    }
    if (access(REAL_POOL, W_OK) != 0) {
        snprintf(kernel_skip, sizeof(kernel_skip), "%s is not writable: %s", REAL_POOL,
                 strerror(errno));
        return;
    }
    f = fopen(REAL_POOL, "r");
    if (!f || !fgets(text, sizeof(text), f)) {
        snprintf(kernel_skip, sizeof(kernel_skip), "cannot read %s", REAL_POOL);
        if (f)
            fclose(f);
        return;
    }
    fclose(f);
    kernel_initial = strtoull(text, NULL, 10);
}

static void kernel_restore(void)
{
    if (!kernel_skip[0]) {
        FILE *f = fopen(REAL_POOL, "w");
        if (f) {
            fprintf(f, "%" PRIu64 "\n", kernel_initial);
            fclose(f);
        }
    }
}

/* The machine's pool goes back to what it was even when a test failed half way (this runs in
 * the parent, after the test's child process is gone). */
static void kernel_teardown(void)
{
    kernel_restore();
    scratch_teardown();
}

static bool kernel_skipped(const char *test)
{
    if (!kernel_skip[0])
        return false;
    printf("test_hugepages: %s: skipped: %s\n", test, kernel_skip);
    fflush(stdout);
    return true;
}

static void kernel_ledger(struct zn_hugepage_ledger *ledger, char *state, size_t len)
{
    format_path(state, len, "%s/state", scratch);
    *ledger = (struct zn_hugepage_ledger){.sysfs_root = "/sys", .state_dir = state};
}

START_TEST(kernel_reserve_and_release)
{
    struct zn_hugepage_share shares[] = {{0, 2}};
    struct zn_hugepage_ledger ledger;
    char state[PATH_MAX];
    struct zn_error err;
    struct timespec t0;
    uint64_t before, now, total;
    double reserve_s, release_s;

    if (kernel_skipped("kernel_reserve_and_release"))
        return;
    kernel_ledger(&ledger, state, sizeof(state));
    ck_assert_msg(zn_hugepages_pool(&ledger, 0, PAGE_2M, &before, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(before, kernel_initial);
    total = meminfo("HugePages_Total");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(zn_hugepages_reserve(&ledger, "real.zn1", PAGE_2M, shares, 1, NULL, &err) == 0,
                  "%s", err.text);
    reserve_s = seconds_since(&t0);
    ck_assert_msg(zn_hugepages_pool(&ledger, 0, PAGE_2M, &now, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(now, before + 2);
    /* meminfo counts the default page size only, over all NUMA nodes. */
    if (meminfo("Hugepagesize") == 2048)
        ck_assert_uint_eq(meminfo("HugePages_Total"), total + 2);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(zn_hugepages_release(&ledger, "real.zn1", &err) == 0, "%s", err.text);
    release_s = seconds_since(&t0);
    ck_assert_msg(zn_hugepages_pool(&ledger, 0, PAGE_2M, &now, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(now, before);
    if (meminfo("Hugepagesize") == 2048)
        ck_assert_uint_eq(meminfo("HugePages_Total"), total);
    printf("test_hugepages: 2 real 2M pages: reserve %.2f ms, release %.2f ms\n", reserve_s * 1e3,
           release_s * 1e3);
    fflush(stdout);
}
END_TEST

START_TEST(kernel_later_step_tops_up)
{
    struct zn_hugepage_share step1[] = {{0, 1}}, step2[] = {{0, 3}};
    struct zn_hugepage_ledger ledger;
    char state[PATH_MAX];
    struct zn_error err;
    uint64_t added[1], now;

    if (kernel_skipped("kernel_later_step_tops_up"))
        return;
    kernel_ledger(&ledger, state, sizeof(state));
    ck_assert_msg(zn_hugepages_reserve(&ledger, "steps.zn1", PAGE_2M, step1, 1, NULL, &err) == 0,
                  "%s", err.text);
    ck_assert_msg(zn_hugepages_reserve(&ledger, "steps.zn1", PAGE_2M, step2, 1, added, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(added[0], 2);
    ck_assert_msg(zn_hugepages_pool(&ledger, 0, PAGE_2M, &now, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(now, kernel_initial + 3);
    ck_assert_msg(zn_hugepages_release(&ledger, "steps.zn1", &err) == 0, "%s", err.text);
    ck_assert_msg(zn_hugepages_pool(&ledger, 0, PAGE_2M, &now, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(now, kernel_initial);
}
END_TEST

START_TEST(kernel_shortfall_rolls_back)
{
    struct zn_hugepage_share shares[] = {{0, 0}};
    struct zn_hugepage_ledger ledger;
    char state[PATH_MAX];
    struct zn_error err;
    struct timespec t0;
    uint64_t now;
    double took;

    if (kernel_skipped("kernel_shortfall_rolls_back"))
        return;
    kernel_ledger(&ledger, state, sizeof(state));
    /* Four times all of memory: the kernel grants what it can and the rest must come back. */
    shares[0].pages = meminfo("MemTotal") * 1024 / PAGE_2M * 4;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(zn_hugepages_reserve(&ledger, "huge.zn1", PAGE_2M, shares, 1, NULL, &err), -1);
    took = seconds_since(&t0);
    ck_assert_msg(zn_hugepages_pool(&ledger, 0, PAGE_2M, &now, &err) == 0, "%s", err.text);
    ck_assert_uint_eq(now, kernel_initial);
    ck_assert_msg(strstr(err.text, "granted only"), "%s", err.text);
    strcat(state, "/huge.zn1");
    ck_assert(!exists(state));
    printf("test_hugepages: asking for %" PRIu64 " real 2M pages failed and rolled back in %.2f s: "
           "%s\n",
           shares[0].pages, took, err.text);
    fflush(stdout);
}
END_TEST

int main(void)
{
    TCase *fake = tcase_create("ledger");
    TCase *kernel = tcase_create("kernel");
    int rc;

    tcase_add_unchecked_fixture(fake, scratch_setup, scratch_teardown);
    tcase_set_timeout(fake, 60);
    tcase_add_test(fake, two_jobs_get_back_what_they_added);
    tcase_add_test(fake, nothing_to_reserve_writes_no_record);
    tcase_add_test(fake, bad_keys_are_refused);
    tcase_add_test(fake, missing_pool_rolls_back);
    tcase_add_test(fake, damaged_record_is_kept);
    tcase_add_test(fake, release_floors_at_zero);
    tcase_add_test(fake, failed_release_keeps_what_is_owed);
    tcase_add_test(fake, later_step_gets_the_difference);
    tcase_add_test(fake, old_record_is_topped_up_and_released);
    tcase_add_test(fake, steps_with_different_page_sizes_hold_both);
    tcase_add_test(fake, shortfall_of_a_later_step_changes_nothing);
    tcase_add_test(fake, failed_release_of_several_sizes_keeps_what_is_owed);
    tcase_add_test(fake, site_limit_bounds_what_the_steps_add_up_to);
    tcase_add_test(fake, a_numa_node_given_twice_is_refused);
    tcase_add_test(fake, concurrent_steps_hold_the_largest);
    tcase_add_test(fake, concurrent_jobs_do_not_lose_pages);
    tcase_add_test(fake, busy_lock_is_waited_for_then_given_up);
    rc = test_run("hugepages", fake);

    /* A suite of its own, so that a skip on machines without a writable pool is reported
     * apart from the ledger tests that always run. */
    tcase_add_unchecked_fixture(kernel, kernel_setup, kernel_teardown);
    /* Each test starts from the machine's own count, whatever the one before it left. */
    tcase_add_checked_fixture(kernel, kernel_restore, NULL);
    tcase_set_timeout(kernel, 300);
    tcase_add_test(kernel, kernel_reserve_and_release);
    tcase_add_test(kernel, kernel_later_step_tops_up);
    tcase_add_test(kernel, kernel_shortfall_rolls_back);
    return test_run("hugepages_kernel", kernel) | rc;
}
