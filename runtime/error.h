/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_ERROR_H
#define ZENITH_ERROR_H

#include <stddef.h>

/* A failure explained for a person: every runtime function that can fail fills one of these
 * (when the caller passes it) and returns -1 or NULL. The text always starts with "zenith: "
 * so it can go straight to a user's stderr or a daemon's log. */
struct zn_error {
    char text[512];
};

/* Record a message in err (NULL is allowed) and return -1, so callers can write
 * `return zn_fail(err, "...")`. errno is preserved. Control characters in the result (a
 * newline in a value someone typed or forged) are written out as \n, \t, \xNN, so a message is
 * always one line wherever it is logged. */
int zn_fail(struct zn_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Add to a message zn_fail already wrote (context, or a second failure that must not hide the
 * first), escaped the same way; cut at the buffer's end. errno is preserved. */
void zn_error_append(struct zn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clear err so that its text is the empty string. */
void zn_error_clear(struct zn_error *err);

#endif
