/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "launcher/data.h"
#include "launcher/services.h"

/* NULL-terminated, in start order. */
static const struct zr_service *const services[] = {&zr_data_service, NULL};

static size_t started;

int zr_services_start(const struct zr_world *w, const struct zr_rendezvous *rv,
                      struct zn_env *child_env, struct zn_error *err)
{
    for (started = 0; services[started]; started++) {
        if (services[started]->start(w, rv, child_env, err) < 0) {
            zr_services_stop();
            return -1;
        }
    }
    return 0;
}

void zr_services_stop(void)
{
    while (started > 0)
        services[--started]->stop();
}
