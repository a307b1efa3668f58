/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "spank/policy.h"

static void note(struct zn_decision *d, const char *text)
{
    size_t used = strlen(d->why);
    snprintf(d->why + used, sizeof(d->why) - used, "%s%s", used ? "; " : "", text);
}

void zn_spank_decide(const struct zn_spank_config *cfg, const struct zn_request_opts *opts,
                     const struct zn_step_facts *facts, struct zn_decision *d)
{
    bool asked = zn_option_node_request(opts);
    bool bind_given = opts->given[ZN_OPT_BIND] && opts->bind_mode_given,
         mem_given = opts->given[ZN_OPT_MEM];

    memset(d, 0, sizeof(*d));
    d->strict = asked;
    d->verbose = opts->given[ZN_OPT_BIND] ? opts->verbose : cfg->verbose;
    if (cfg->default_off && !asked) {
        note(d, "default_off: no --zenith option given");
        return;
    }
    if (cfg->exclusive_only && !facts->whole_node) {
        note(d, "exclusive_only: the job does not have the whole node, Slurm places its tasks");
        return;
    }

    d->plan = true;
    d->apply = !cfg->report_only;
    d->policy.bind = bind_given ? opts->bind : cfg->bind;
    d->policy.mem = mem_given ? opts->mem : cfg->mem;
    if (opts->given[ZN_OPT_HUGEPAGES]) {
        d->policy.hugepage_bytes = opts->hugepage_bytes;
        d->policy.hugepage_size = opts->hugepage_size;
        d->reserve = !cfg->report_only;
    }
    if (cfg->report_only)
        note(d, "report_only: nothing applied");

    if (facts->batch) {
        /* The script only launches steps; pinning it would squeeze every tool it runs onto
         * one task's share, and a plan in its environment would read as the user's request
         * to the sruns inside it. Huge pages are per job, so the batch step may reserve them. */
        d->policy.bind = ZN_BIND_NONE;
        d->policy.mem = ZN_MEM_NONE;
        d->apply = false;
        return;
    }
    if (facts->user_cpu_bind && !bind_given) {
        d->policy.bind = ZN_BIND_NONE;
        note(d, "srun --cpu-bind wins (add --zenith-bind to override)");
    } else if (facts->user_cpu_bind) {
        note(d, "--zenith-bind overrides srun --cpu-bind");
    }
    if (facts->user_mem_bind && !mem_given && !bind_given) {
        d->policy.mem = ZN_MEM_NONE;
        note(d, "srun --mem-bind wins (add --zenith-mem to override)");
    } else if (facts->user_mem_bind) {
        note(d, "Zenith's memory policy overrides srun --mem-bind");
    }
}
