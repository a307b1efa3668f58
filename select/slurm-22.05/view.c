/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reads slurmctld's tables into the placement core's model (Slurm 22.05). */
#include "config.h" /* Slurm's (-iquote): slurm_xlator.h needs its USE_ALIAS */

#include <stdlib.h>
#include <string.h>

#include "src/common/slurm_xlator.h" /* first: Slurm's names, not libc's error() */
#include "src/common/gres.h"
#include "src/common/list.h"
#include "src/common/log.h"
#include "src/common/node_conf.h"
#include "src/common/read_config.h"
#include "src/common/xmalloc.h"

#include "select/slurm-22.05/view.h"

struct zn_view {
    struct zn_cluster *cluster;
    int *slurm_index;      /* model node -> Slurm node index */
    int *model_index;      /* Slurm node index -> model node, -1 for none */
    int slurm_node_count;  /* node_record_count when built */
    unsigned char *usable; /* per model node */
    uint32_t gpu_id;
};

static void node_gpus(const struct zn_view *view, node_record_t *node, unsigned *total,
                      unsigned *free_now)
{
    ListIterator it;
    gres_state_t *state;

    *total = *free_now = 0;
    if (!node->gres_list)
        return;
    it = list_iterator_create(node->gres_list);
    while ((state = list_next(it))) {
        gres_node_state_t *gpus = state->gres_data;
        if (state->plugin_id != view->gpu_id || !gpus)
            continue;
        *total = gpus->gres_cnt_avail > UINT16_MAX ? UINT16_MAX : (unsigned)gpus->gres_cnt_avail;
        *free_now = gpus->gres_cnt_alloc >= *total ? 0 : *total - (unsigned)gpus->gres_cnt_alloc;
    }
    list_iterator_destroy(it);
}

/* Features are "a,b,nvlblock_x": the first nvlblock_ one names the block. */
static int read_block(struct zn_view *view, size_t model, const char *features)
{
    const char *p = features;
    struct zn_error err;

    while (p && (p = strstr(p, ZN_BLOCK_FEATURE_PREFIX))) {
        if (p == features || p[-1] == ',') {
            char name[128];
            size_t len = strcspn(p, ",");
            if (len >= sizeof(name))
                len = sizeof(name) - 1;
            memcpy(name, p, len);
            name[len] = '\0';
            if (zn_cluster_set_block(view->cluster, model, name, &err) < 0) {
                error("%s", err.text);
                return -1;
            }
            return 0;
        }
        p++;
    }
    return 0;
}

static int read_topology(struct zn_view *view)
{
    char *path = get_extra_conf_path("topology.conf");
    struct zn_error err;
    int rc = 0;

    if (access(path, F_OK) != 0) {
        info("zenith: no %s; gang jobs are placed by node and NVLink block only", path);
    } else if (zn_cluster_read_topology_file(view->cluster, path, &err) < 0) {
        error("%s; Zenith's placement is off until it is fixed (scontrol reconfigure)", err.text);
        rc = -1;
    } else if (view->cluster->unknown_nodes) {
        info("zenith: %s names %zu nodes that slurm.conf does not have; they are ignored", path,
             view->cluster->unknown_nodes);
    }
    xfree(path);
    return rc;
}

struct zn_view *zn_view_build(void)
{
    struct zn_view *view = calloc(1, sizeof(*view));
    node_record_t *node;
    struct zn_error err;

    if (!view)
        goto fail;
    view->gpu_id = gres_build_id("gpu");
    view->cluster = zn_cluster_new();
    view->slurm_node_count = node_record_count;
    view->slurm_index = calloc(node_record_count ? node_record_count : 1, sizeof(int));
    view->model_index = calloc(node_record_count ? node_record_count : 1, sizeof(int));
    view->usable = calloc(node_record_count ? node_record_count : 1, 1);
    if (!view->cluster || !view->slurm_index || !view->model_index || !view->usable)
        goto fail;
    for (int i = 0; i < node_record_count; i++)
        view->model_index[i] = -1;
    for (int i = 0; (node = next_node(&i)); i++) {
        unsigned total, free_now;
        long model;

        if (node->index >= (uint32_t)node_record_count)
            continue;
        node_gpus(view, node, &total, &free_now);
        model = zn_cluster_add_node(view->cluster, node->name, total, total, &err);
        if (model < 0) {
            error("%s", err.text);
            goto fail;
        }
        view->slurm_index[model] = node->index;
        view->model_index[node->index] = (int)model;
        if (node->features && read_block(view, (size_t)model, node->features) < 0)
            goto fail;
    }
    if (read_topology(view) < 0)
        goto fail;
    return view;
fail:
    if (!view || !view->cluster)
        error("zenith: out of memory building the cluster model; placement is plain cons_tres");
    zn_view_free(view);
    return NULL;
}

void zn_view_free(struct zn_view *view)
{
    if (!view)
        return;
    zn_cluster_free(view->cluster);
    free(view->slurm_index);
    free(view->model_index);
    free(view->usable);
    free(view);
}

struct zn_cluster *zn_view_refresh(struct zn_view *view, bitstr_t *usable, bool now,
                                   const unsigned char **usable_mask)
{
    struct zn_cluster *c = view->cluster;

    /* Nodes added or removed since (dynamic nodes): the caller rebuilds first. */
    if (node_record_count != view->slurm_node_count)
        return NULL;
    for (size_t m = 0; m < c->node_count; m++) {
        int index = view->slurm_index[m];
        node_record_t *node = node_record_table_ptr[index];
        unsigned total = 0, free_now = 0;

        view->usable[m] = node && usable && index < bit_size(usable) && bit_test(usable, index);
        if (node)
            node_gpus(view, node, &total, &free_now);
        /* The total can change on reconfiguration; the model keeps the one it was built with
         * and never reports more free than that. */
        if (total > c->nodes[m].gpus_total)
            total = c->nodes[m].gpus_total;
        if (free_now > total)
            free_now = total;
        c->nodes[m].gpus_free = now ? free_now : total;
    }
    *usable_mask = view->usable;
    return c;
}

int zn_view_slurm_index(const struct zn_view *view, size_t node)
{
    return view->slurm_index[node];
}
