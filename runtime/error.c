/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/error.h"

int zn_fail(struct zn_error *err, const char *fmt, ...)
{
    int saved_errno = errno;

    if (err) {
        static const char prefix[] = "zenith: ";
        va_list ap;

        memcpy(err->text, prefix, sizeof(prefix));
        va_start(ap, fmt);
        vsnprintf(err->text + sizeof(prefix) - 1, sizeof(err->text) - sizeof(prefix) + 1, fmt, ap);
        va_end(ap);
    }
    errno = saved_errno;
    return -1;
}

void zn_error_clear(struct zn_error *err)
{
    if (err)
        err->text[0] = '\0';
}
