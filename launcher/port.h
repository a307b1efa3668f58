/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_PORT_H
#define ZENITH_LAUNCHER_PORT_H

#include <limits.h>

#include "runtime/error.h"

/* MASTER_PORT: a port nothing on rank 0's node is bound to, claimed so that another
 * zenith-run starting on the same node at the same moment does not pick it too before the
 * program binds it. Claims are files PORT.UID.PID in a sticky directory every user can write,
 * with no lock (any user could hold a lock forever): a claimer creates its own file, then looks
 * for other live claims of the port and yields it if there are any. A claim counts only while
 * its file, owned by UID, names a live process of UID; others' fakes are ignored. */
#define ZR_DEFAULT_PORT_DIR "/var/tmp/zenith-ports"

struct zr_port_claim {
    unsigned port;
    char path[PATH_MAX]; /* "" when nothing is held */
};

/* Search [first, last] starting at a place derived from `seed` (the job and step), so jobs
 * rarely even contend for the same port. */
int zr_port_claim(const char *dir, unsigned first, unsigned last, const char *seed,
                  struct zr_port_claim *claim, struct zn_error *err);
void zr_port_release(struct zr_port_claim *claim);

/* The port every rank derives from the seed alone, when rank 0 cannot tell them its choice
 * (no PMIx). Not checked. */
unsigned zr_port_guess(unsigned first, unsigned last, const char *seed);

/* Whether nothing is bound to this TCP port on any local address (IPv4 and IPv6). */
int zr_port_is_free(unsigned port);

#endif
