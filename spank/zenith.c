/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SPANK entry points: read the site's settings, register the options, and hand each
 * callback to the file for its context (local.c, remote.c, jobscript.c). */
#include "config.h"

#include <unistd.h>

#include "launcher/port.h"
#include "spank/args.h"
#include "spank/portdir.h"
#include "spank/zenith.h"

SPANK_PLUGIN(zenith, 1);

int slurm_spank_init(spank_t sp, int ac, char **av)
{
    if (zn_args_load_settings(ac, av) < 0)
        return -1;
    switch (spank_context()) {
    case S_CTX_LOCAL:
    case S_CTX_ALLOCATOR:
    case S_CTX_REMOTE:
        return zn_args_register(sp);
    default:
        return 0;
    }
}

/* zenith-run trusts its default port claim directory only when root owns it; slurmstepd runs
 * this as root on every node at every step. Whatever goes wrong is logged, never fatal. */
static void zn_fix_port_dir(void)
{
    char msg[1024];
    int rc;

    if (getuid() != 0)
        return;
    rc = zn_portdir_fix(ZR_DEFAULT_PORT_DIR, msg, sizeof(msg));
    if (rc < 0)
        slurm_error("zenith: %s", msg);
    else if (rc > 0)
        slurm_info("zenith: %s", msg);
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    switch (spank_context()) {
    case S_CTX_LOCAL:
    case S_CTX_ALLOCATOR:
        return zn_local_init_post_opt(sp);
    case S_CTX_REMOTE:
        zn_fix_port_dir();
        return zn_remote_init_post_opt(sp);
    default:
        return 0;
    }
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    return spank_remote(sp) ? zn_remote_task_init(sp) : 0;
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
    /* slurm_spank_init does not run before the epilog: read the settings here. */
    if (zn_args_load_settings(ac, av) < 0)
        return -1;
    return zn_jobscript_epilog(sp);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    if (spank_remote(sp))
        zn_remote_exit();
    zn_args_free();
    return 0;
}
