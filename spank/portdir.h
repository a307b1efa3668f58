/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_PORTDIR_H
#define ZENITH_SPANK_PORTDIR_H

#include <stddef.h>

/* zenith-run's port claim directory (ZR_DEFAULT_PORT_DIR) trusts only a directory owned by
 * root or by its caller: a user who created it first could remove everyone's claims. As root,
 * at every step, the plugin makes `path` a root-owned 01777 directory: created when missing,
 * anything else there (another owner's directory, a symlink, a file) renamed aside to
 * PATH.untrusted.UID.TIME first, never followed. Plain C, no Slurm, so a unit test can run it
 * on a directory of its own.
 *
 * 0: it was right already; 1: it was made right, `msg` says what was done; -1: it could not
 * be, `msg` says why. Never blocks. */
int zn_portdir_fix(const char *path, char *msg, size_t len);

#endif
