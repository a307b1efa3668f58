/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_PARSE_H
#define ZENITH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* Parsers for the values users type (options, plugstack arguments, environment). Each one is
 * strict: the whole string must be valid, and on failure the message names `what` (the option
 * or variable) and the bad value. */

/* One decimal number at *p (digits only: no sign, no spaces), advancing *p past it; -1 when
 * there is no digit or it overflows. For parsers of larger texts (lists, kernel files). */
int zn_parse_digits(const char **p, uint64_t *out);

/* "0-3,8,10-11" -> indices in the order written, duplicates refused, each <= max_index.
 * *out is malloc'd (NULL when *count is 0; an empty string is refused). */
int zn_parse_index_list(const char *what, const char *text, unsigned max_index, unsigned **out,
                        size_t *count, struct zn_error *err);

/* The same, and an index above max_index is left in *beyond (0 otherwise), for a caller that
 * words that error itself. Work is linear in the list and max_index, so a caller that knows
 * the real bound (a node's GPU count) should pass it: "0-65535" then fails at once. */
int zn_parse_index_list_within(const char *what, const char *text, unsigned max_index,
                               uint64_t *beyond, unsigned **out, size_t *count,
                               struct zn_error *err);

/* A positive count: "8" -> 8; refuses 0, signs, garbage and values above max. */
int zn_parse_count(const char *what, const char *text, unsigned max, unsigned *out,
                   struct zn_error *err);

/* A duration in whole seconds, 0 allowed: "120" -> 120; refuses units, signs and values above
 * max. */
int zn_parse_seconds(const char *what, const char *text, unsigned max, unsigned *out,
                     struct zn_error *err);

/* A byte size with an optional binary unit: "8G", "512M", "1073741824", "2MiB", "4GB" all use
 * powers of 1024 (K, M, G, T). Refuses 0 and overflow. */
int zn_parse_size(const char *what, const char *text, uint64_t *out, struct zn_error *err);

/* Render a byte count the way users write it: 2097152 -> "2M", 1610612736 -> "1536M". */
void zn_format_size(uint64_t bytes, char *buf, size_t len);

#endif
