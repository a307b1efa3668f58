/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_HOSTLIST_H
#define ZENITH_HOSTLIST_H

#include <stddef.h>

#include "runtime/error.h"

/* Slurm host list expressions as slurm.conf and topology.conf write them: "n[01-04,7],gpu5",
 * "rack[1-2]n[1-3]" (every combination, left to right). Zero padding of a range is kept
 * ("n[08-10]" -> n08 n09 n10). Calls each(name, arg) for every host in order; a non-zero return
 * from each stops the walk and is returned. -1 with err set on a malformed expression or one of
 * more than 1048576 hosts. */
typedef int (*zn_host_fn)(const char *name, void *arg);
int zn_hostlist_each(const char *what, const char *expr, zn_host_fn each, void *arg,
                     struct zn_error *err);

#endif
