/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "spank/ledger.h"
#include "spank/settings.h"

struct zn_hugepage_ledger zn_spank_ledger(void)
{
    return (struct zn_hugepage_ledger){.sysfs_root = "/sys",
                                       .state_dir = zn_spank_settings()->state_dir};
}

void zn_spank_hugepage_key(uint32_t jobid, char *key, size_t len)
{
    char host[256] = "";

    gethostname(host, sizeof(host) - 1);
    snprintf(key, len, "%u.%s", jobid, host);
}
