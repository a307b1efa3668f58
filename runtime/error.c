/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/error.h"

/* Appends `in` to err->text at `used`, control characters written out (\n, \t, \xNN): a value a
 * user typed or forged must never become a line of its own in a daemon's log. */
static void put_printable(struct zn_error *err, size_t used, const char *in)
{
    static const char hex[] = "0123456789abcdef";
    size_t cap = sizeof(err->text) - 1;

    for (const unsigned char *p = (const unsigned char *)in; *p && used < cap; p++) {
        char esc[5] = {(char)*p, 0};
        size_t n = 1;
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            esc[0] = '\\';
            esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[*p >> 4];
            esc[3] = hex[*p & 15];
            n = 4;
        }
        if (used + n > cap)
            break;
        memcpy(err->text + used, esc, n);
        used += n;
    }
    err->text[used] = '\0';
}

static void put_formatted(struct zn_error *err, size_t used, const char *fmt, va_list ap)
{
    char raw[sizeof(err->text)];

    vsnprintf(raw, sizeof(raw), fmt, ap);
    put_printable(err, used, raw);
}

int zn_fail(struct zn_error *err, const char *fmt, ...)
{
    int saved_errno = errno;

    if (err) {
        static const char prefix[] = "zenith: ";
        va_list ap;

        memcpy(err->text, prefix, sizeof(prefix));
        va_start(ap, fmt);
        put_formatted(err, sizeof(prefix) - 1, fmt, ap);
        va_end(ap);
    }
    errno = saved_errno;
    return -1;
}

void zn_error_append(struct zn_error *err, const char *fmt, ...)
{
    int saved_errno = errno;

    if (err) {
        va_list ap;

        va_start(ap, fmt);
        put_formatted(err, strnlen(err->text, sizeof(err->text) - 1), fmt, ap);
        va_end(ap);
    }
    errno = saved_errno;
}

void zn_error_clear(struct zn_error *err)
{
    if (err)
        err->text[0] = '\0';
}
