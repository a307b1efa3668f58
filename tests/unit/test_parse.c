/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/parse.h"
#include "runtime/plan.h"
#include "tests/unit/testutil.h"

#define ck_error_mentions(err, needle)                                                             \
    ck_assert_msg(strstr((err).text, needle) != NULL, "'%s' does not mention '%s'", (err).text,    \
                  needle)

START_TEST(index_list_keeps_order_and_ranges)
{
    struct zn_error err;
    unsigned *list;
    size_t n;

    ck_assert_int_eq(zn_parse_index_list("--gpus", "3,0-2,7", 7, &list, &n, &err), 0);
    ck_assert_uint_eq(n, 5);
    unsigned want[] = {3, 0, 1, 2, 7};
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(list[i], want[i]);
    free(list);
}
END_TEST

START_TEST(index_list_refuses_bad_input)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"", "empty"},           {"1,", "not a list"},
        {"a", "not a list"},     {"1-", "not a list"},
        {"-1", "not a list"},    {"3-1", "backwards"},
        {"0-8", "out of range"}, {"1,1", "twice"},
        {"0 1", "not a list"},   {"99999999999999999999", "not a list"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zn_error err;
        unsigned *list = (unsigned *)1;
        size_t n = 42;
        ck_assert_int_eq(zn_parse_index_list("--gpus", bad[i].text, 7, &list, &n, &err), -1);
        ck_assert_ptr_null(list);
        ck_assert_uint_eq(n, 0);
        ck_assert_msg(strncmp(err.text, "zenith: --gpus", 14) == 0, "%s", err.text);
        ck_error_mentions(err, bad[i].needle);
    }
}
END_TEST

/* Every index a list may hold, several times over: the duplicate check used to compare each
 * index with all before it (seconds for one "0-65535"); this must finish well inside Check's
 * per-test timeout, even under the sanitizers. */
START_TEST(index_list_long_lists_are_linear)
{
    struct zn_error err;
    unsigned *list;
    size_t n;

    for (int round = 0; round < 8; round++) {
        ck_assert_int_eq(zn_parse_index_list("--gpus", "0-65535", 65535, &list, &n, &err), 0);
        ck_assert_uint_eq(n, 65536);
        ck_assert_uint_eq(list[65535], 65535);
        free(list);
    }
    ck_assert_int_eq(zn_parse_index_list("--gpus", "0-65535,65535", 65535, &list, &n, &err), -1);
    ck_error_mentions(err, "--gpus=0-65535,65535: index 65535 is listed twice");
}
END_TEST

/* A value someone forged with control characters: the message stays one line, every byte of
 * the value visible. */
START_TEST(messages_escape_control_characters)
{
    struct zn_error err;
    unsigned v;

    ck_assert_int_eq(zn_parse_count("--zenith-gang", "2\nzenith: forged\t\x1b[0m\r", 10, &v, &err),
                     -1);
    ck_assert_str_eq(err.text, "zenith: --zenith-gang=2\\nzenith: forged\\t\\x1b[0m\\r is not a "
                               "positive whole number");
    zn_error_append(&err, "; then %s", "a\nb");
    ck_assert_msg(strstr(err.text, "number; then a\\nb") && !strchr(err.text, '\n'), "%s",
                  err.text);
    /* Escapes never run past the buffer, and a cut never leaves half of one. */
    char long_value[2048];
    memset(long_value, '\n', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    zn_parse_count("--tasks", long_value, 10, &v, &err);
    ck_assert_uint_lt(strlen(err.text), sizeof(err.text));
    ck_assert_msg(!strchr(err.text, '\n'), "%s", err.text);
    ck_assert_int_ne(err.text[strlen(err.text) - 1], '\\');
}
END_TEST

START_TEST(count_bounds)
{
    struct zn_error err;
    unsigned v;

    ck_assert_int_eq(zn_parse_count("--tasks", "8", 100, &v, &err), 0);
    ck_assert_uint_eq(v, 8);
    ck_assert_int_eq(zn_parse_count("--tasks", "0", 100, &v, &err), -1);
    ck_error_mentions(err, "--tasks=0");
    ck_assert_int_eq(zn_parse_count("--tasks", "101", 100, &v, &err), -1);
    ck_assert_int_eq(zn_parse_count("--tasks", "+3", 100, &v, &err), -1);
    ck_assert_int_eq(zn_parse_count("--tasks", "3x", 100, &v, &err), -1);
    ck_error_mentions(err, "3x");
}
END_TEST

START_TEST(sizes)
{
    struct zn_error err;
    uint64_t v;

    ck_assert_int_eq(zn_parse_size("x", "8G", &v, &err), 0);
    ck_assert_uint_eq(v, 8ULL << 30);
    ck_assert_int_eq(zn_parse_size("x", "512m", &v, &err), 0);
    ck_assert_uint_eq(v, 512ULL << 20);
    ck_assert_int_eq(zn_parse_size("x", "2MiB", &v, &err), 0);
    ck_assert_uint_eq(v, 2ULL << 20);
    ck_assert_int_eq(zn_parse_size("x", "1TB", &v, &err), 0);
    ck_assert_uint_eq(v, 1ULL << 40);
    ck_assert_int_eq(zn_parse_size("x", "4096", &v, &err), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(zn_parse_size("x", "0G", &v, &err), -1);
    ck_assert_int_eq(zn_parse_size("x", "8Q", &v, &err), -1);
    ck_error_mentions(err, "x=8Q");
    ck_assert_int_eq(zn_parse_size("x", "G", &v, &err), -1);
    ck_assert_int_eq(zn_parse_size("x", "99999999999T", &v, &err), -1);
    ck_error_mentions(err, "too large");

    char buf[32];
    zn_format_size(2097152, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2M");
    zn_format_size(1ULL << 30, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1G");
    zn_format_size(1536ULL << 20, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1536M");
    zn_format_size(1000, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1000");
}
END_TEST

START_TEST(policy_names)
{
    struct zn_error err;
    enum zn_bind bind;
    enum zn_mem mem;
    uint64_t bytes, page;

    ck_assert_int_eq(zn_bind_parse("--zenith-bind", "socket", &bind, &err), 0);
    ck_assert_int_eq(bind, ZN_BIND_SOCKET);
    ck_assert_int_eq(zn_bind_parse("--zenith-bind", "cores", &bind, &err), -1);
    ck_error_mentions(err, "--zenith-bind=cores");
    ck_error_mentions(err, "auto, gpu, numa, socket, core or none");
    ck_assert_int_eq(zn_mem_parse("--zenith-mem", "interleave", &mem, &err), 0);
    ck_assert_int_eq(mem, ZN_MEM_INTERLEAVE);
    ck_assert_int_eq(zn_mem_parse("--zenith-mem", "default", &mem, &err), -1);
    ck_assert_int_eq(zn_hugepages_parse("h", "4G:1G", &bytes, &page, &err), 0);
    ck_assert_uint_eq(bytes, 4ULL << 30);
    ck_assert_uint_eq(page, 1ULL << 30);
    ck_assert_int_eq(zn_hugepages_parse("h", "8G", &bytes, &page, &err), 0);
    ck_assert_uint_eq(page, 0);
    ck_assert_int_eq(zn_hugepages_parse("h", "8G:3M", &bytes, &page, &err), -1);
    ck_error_mentions(err, "power of two");
    ck_assert_int_eq(zn_hugepages_parse("h", ":2M", &bytes, &page, &err), -1);
    ck_assert_int_eq(zn_hugepages_parse("h", "8G:", &bytes, &page, &err), -1);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, index_list_keeps_order_and_ranges);
    tcase_add_test(tc, index_list_refuses_bad_input);
    tcase_add_test(tc, index_list_long_lists_are_linear);
    tcase_add_test(tc, messages_escape_control_characters);
    tcase_add_test(tc, count_bounds);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, policy_names);
    return test_run("parse", tc);
}
