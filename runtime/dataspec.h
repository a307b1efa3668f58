/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_DATASPEC_H
#define ZENITH_DATASPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataset.h"
#include "runtime/error.h"
#include "runtime/reader.h"

/* What a user asks the data service for, as one line (zenith-run --data SPEC or ZENITH_DATA):
 * comma-separated key=value pairs, e.g.
 *   path=/data/owt/train.bin,dtype=u16,seq_len=1024,batch=12,seed=7
 * Commas inside braces belong to the path (train-{000..009,020}.tar). Parsed strictly: an
 * unknown key, a repeated key, or a bad value fails with a message naming the key and value. */

enum zn_on_error { ZN_ON_ERROR_FAIL, ZN_ON_ERROR_SKIP };

struct zn_dataspec {
    struct zn_dataset_options dataset; /* path is owned (malloc'd) */
    uint32_t batch;                    /* samples per batch */
    uint64_t seed;
    bool shuffle;
    bool drop_last;
    uint64_t epoch;    /* the first epoch to deliver */
    uint64_t consumed; /* samples the whole job consumed of that epoch already (resume) */
    uint64_t epochs;   /* epochs to deliver; 0: until the program stops */
    uint64_t block;    /* tar: shuffle block in samples */
    uint32_t slots;    /* batches in the arena (in flight + held by the program) */
    uint32_t queue_depth;
    uint32_t read_size;
    bool async;
    bool async_given; /* else: on when the rank has two CPUs or more */
    enum zn_reader_backend io;
    enum zn_on_error on_error;
    uint64_t max_errors; /* with on_error=skip: fail after this many damaged samples */
};

/* `what` names the source in messages ("--data", "ZENITH_DATA"). On failure spec is cleared. */
int zn_dataspec_parse(const char *what, const char *text, struct zn_dataspec *spec,
                      struct zn_error *err);
void zn_dataspec_clear(struct zn_dataspec *spec);

/* SPEC text with the keys of `overrides` replacing the same keys of `base` (either may be NULL
 * or empty): base's other items in their order, then the overrides. Only the items' keys are
 * looked at; zn_dataspec_parse checks the result. malloc'd, NULL when out of memory. */
char *zn_dataspec_merge(const char *base, const char *overrides, struct zn_error *err);

/* Whether SPEC text gives `key` (key=... at the top level, not inside a brace list). */
bool zn_dataspec_has_key(const char *text, const char *key);

/* The keys with a line each, for --help and the man page's check. */
extern const char zn_dataspec_help[];

#endif
