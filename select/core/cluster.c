/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster model and its topology.conf reader. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/parse.h"
#include "select/core/cluster.h"
#include "select/core/hostlist.h"

#define ZN_TOPOLOGY_FILE_MAX (16u << 20)

static int grow(void **array, size_t *cap, size_t need, size_t size, struct zn_error *err)
{
    size_t n = *cap ? *cap : 16;
    void *p;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    p = realloc(*array, n * size);
    if (!p)
        return zn_fail(err, "out of memory for the cluster model");
    memset((char *)p + *cap * size, 0, (n - *cap) * size);
    *array = p;
    *cap = n;
    return 0;
}

static size_t hash_name(const char *s)
{
    size_t h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static int index_name(struct zn_cluster *c, size_t node, struct zn_error *err)
{
    size_t mask;

    if (c->node_count * 2 >= c->name_index_cap) {
        size_t cap = c->name_index_cap ? c->name_index_cap * 2 : 64;
        size_t *table = calloc(cap, sizeof(*table));

        if (!table)
            return zn_fail(err, "out of memory for the cluster model");
        free(c->name_index);
        c->name_index = table;
        c->name_index_cap = cap;
        /* Rehash everything but the node being added, which goes in below. */
        for (size_t i = 0; i < node; i++) {
            size_t slot = hash_name(c->nodes[i].name) & (cap - 1);
            while (table[slot])
                slot = (slot + 1) & (cap - 1);
            table[slot] = i + 1;
        }
    }
    mask = c->name_index_cap - 1;
    size_t slot = hash_name(c->nodes[node].name) & mask;
    while (c->name_index[slot])
        slot = (slot + 1) & mask;
    c->name_index[slot] = node + 1;
    return 0;
}

struct zn_cluster *zn_cluster_new(void)
{
    return calloc(1, sizeof(struct zn_cluster));
}

static void free_domain(struct zn_domain *d)
{
    free(d->name);
    free(d->nodes);
}

void zn_cluster_free(struct zn_cluster *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->node_count; i++)
        free(c->nodes[i].name);
    for (size_t i = 0; i < c->block_count; i++)
        free_domain(&c->blocks[i]);
    for (size_t i = 0; i < c->switch_count; i++) {
        free_domain(&c->switches[i].domain);
        free(c->switches[i].children);
    }
    free(c->nodes);
    free(c->blocks);
    free(c->switches);
    free(c->name_index);
    free(c);
}

long zn_cluster_find_node(const struct zn_cluster *c, const char *name)
{
    size_t mask, slot;

    if (!c->name_index_cap)
        return -1;
    mask = c->name_index_cap - 1;
    for (slot = hash_name(name) & mask; c->name_index[slot]; slot = (slot + 1) & mask) {
        size_t node = c->name_index[slot] - 1;
        if (strcmp(c->nodes[node].name, name) == 0)
            return (long)node;
    }
    return -1;
}

long zn_cluster_add_node(struct zn_cluster *c, const char *name, unsigned gpus_total,
                         unsigned gpus_free, struct zn_error *err)
{
    struct zn_cluster_node *n;

    if (!name || !*name)
        return zn_fail(err, "a cluster node needs a name");
    if (gpus_free > gpus_total)
        return zn_fail(err, "node %s: %u free GPUs but only %u in all", name, gpus_free,
                       gpus_total);
    if (zn_cluster_find_node(c, name) >= 0)
        return zn_fail(err, "node %s is in the cluster twice", name);
    if (grow((void **)&c->nodes, &c->node_cap, c->node_count + 1, sizeof(*c->nodes), err) < 0)
        return -1;
    n = &c->nodes[c->node_count];
    n->name = strdup(name);
    if (!n->name)
        return zn_fail(err, "out of memory for the cluster model");
    n->gpus_total = gpus_total;
    n->gpus_free = gpus_free;
    n->block = -1;
    n->leaf = -1;
    if (index_name(c, c->node_count, err) < 0) {
        free(n->name);
        return -1;
    }
    return (long)c->node_count++;
}

int zn_cluster_set_free(struct zn_cluster *c, size_t node, unsigned gpus_free, struct zn_error *err)
{
    if (node >= c->node_count)
        return zn_fail(err, "no node %zu in the cluster model", node);
    if (gpus_free > c->nodes[node].gpus_total)
        return zn_fail(err, "node %s: %u free GPUs but only %u in all", c->nodes[node].name,
                       gpus_free, c->nodes[node].gpus_total);
    c->nodes[node].gpus_free = gpus_free;
    return 0;
}

static int domain_add(struct zn_domain *d, size_t node, struct zn_error *err)
{
    size_t cap = d->node_count;

    /* Capacity is implicit: grow at powers of two. */
    if ((d->node_count & (d->node_count - 1)) == 0 || d->node_count == 0) {
        size_t *p = realloc(d->nodes, (cap ? cap * 2 : 1) * sizeof(*p));
        if (!p)
            return zn_fail(err, "out of memory for the cluster model");
        d->nodes = p;
    }
    d->nodes[d->node_count++] = node;
    return 0;
}

int zn_cluster_set_block(struct zn_cluster *c, size_t node, const char *name, struct zn_error *err)
{
    size_t b;

    if (node >= c->node_count)
        return zn_fail(err, "no node %zu in the cluster model", node);
    if (c->nodes[node].block >= 0)
        return zn_fail(err, "node %s is in NVLink blocks %s and %s; give each node one",
                       c->nodes[node].name, c->blocks[c->nodes[node].block].name, name);
    for (b = 0; b < c->block_count; b++)
        if (strcmp(c->blocks[b].name, name) == 0)
            break;
    if (b == c->block_count) {
        if (grow((void **)&c->blocks, &c->block_cap, b + 1, sizeof(*c->blocks), err) < 0)
            return -1;
        c->blocks[b].name = strdup(name);
        if (!c->blocks[b].name)
            return zn_fail(err, "out of memory for the cluster model");
        c->block_count++;
    }
    /* Nodes are added in index order by every caller that matters; keep ascending anyway. */
    if (domain_add(&c->blocks[b], node, err) < 0)
        return -1;
    for (size_t i = c->blocks[b].node_count - 1;
         i > 0 && c->blocks[b].nodes[i - 1] > c->blocks[b].nodes[i]; i--) {
        size_t t = c->blocks[b].nodes[i];
        c->blocks[b].nodes[i] = c->blocks[b].nodes[i - 1];
        c->blocks[b].nodes[i - 1] = t;
    }
    c->nodes[node].block = (int)b;
    return 0;
}

/* ------------------------------------------------------------------ topology.conf */

struct leaf_walk {
    struct zn_cluster *c;
    size_t sw;
    const char *source;
    unsigned line;
    struct zn_error *err;
};

static int add_leaf_node(const char *name, void *arg)
{
    struct leaf_walk *w = arg;
    long node = zn_cluster_find_node(w->c, name);
    struct zn_cluster_node *n;

    if (node < 0) {
        w->c->unknown_nodes++;
        return 0;
    }
    n = &w->c->nodes[node];
    if (n->leaf >= 0)
        return zn_fail(w->err,
                       "%s:%u: node %s is under leaf switches %s and %s; a node has one "
                       "leaf switch",
                       w->source, w->line, name, w->c->switches[n->leaf].domain.name,
                       w->c->switches[w->sw].domain.name);
    n->leaf = (int)w->sw;
    return domain_add(&w->c->switches[w->sw].domain, (size_t)node, w->err);
}

static long find_switch(const struct zn_cluster *c, const char *name)
{
    for (size_t i = 0; i < c->switch_count; i++)
        if (strcmp(c->switches[i].domain.name, name) == 0)
            return (long)i;
    return -1;
}

struct child_walk {
    struct zn_cluster *c;
    size_t parent;
    const char *source;
    struct zn_error *err;
};

static int link_child(const char *name, void *arg)
{
    struct child_walk *w = arg;
    long child = find_switch(w->c, name);
    const char *parent = w->c->switches[w->parent].domain.name;

    if (child < 0)
        return zn_fail(w->err, "%s: switch %s lists switch %s, which is not defined", w->source,
                       parent, name);
    if ((size_t)child == w->parent)
        return zn_fail(w->err, "%s: switch %s lists itself", w->source, parent);
    if (w->c->switches[child].parent >= 0)
        return zn_fail(w->err, "%s: switch %s has two parents, %s and %s", w->source, name,
                       w->c->switches[w->c->switches[child].parent].domain.name, parent);
    w->c->switches[child].parent = (int)w->parent;
    return 0;
}

int zn_compare_node_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Levels and member nodes of the switches above leaves, once every switch is known. */
static int finish_tree(struct zn_cluster *c, const char *source, struct zn_error *err)
{
    for (size_t i = 0; i < c->switch_count; i++) {
        struct zn_switch *s = &c->switches[i];
        struct child_walk w = {c, i, source, err};

        if (s->children && zn_hostlist_each("Switches", s->children, link_child, &w, err) != 0)
            return -1;
    }
    /* Walking up from every switch, a path longer than the switch count is a loop. */
    for (size_t i = 0; i < c->switch_count; i++) {
        size_t steps = 0;
        for (int p = c->switches[i].parent; p >= 0; p = c->switches[p].parent)
            if (++steps > c->switch_count)
                return zn_fail(err, "%s: the switches above %s form a loop", source,
                               c->switches[i].domain.name);
    }
    /* Levels: a leaf is 0, each parent at least one above its child. */
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < c->switch_count; i++) {
            int p = c->switches[i].parent;
            if (p >= 0 && c->switches[p].level < c->switches[i].level + 1) {
                c->switches[p].level = c->switches[i].level + 1;
                changed = true;
            }
        }
    }
    c->top_level = 0;
    for (size_t i = 0; i < c->switch_count; i++)
        if (c->switches[i].level > c->top_level)
            c->top_level = c->switches[i].level;
    /* Each node under one leaf, each switch under one parent: the unions are disjoint. */
    for (size_t i = 0; i < c->node_count; i++)
        for (int s = c->nodes[i].leaf >= 0 ? c->switches[c->nodes[i].leaf].parent : -1; s >= 0;
             s = c->switches[s].parent)
            if (domain_add(&c->switches[s].domain, i, err) < 0)
                return -1;
    for (size_t i = 0; i < c->switch_count; i++) {
        struct zn_domain *d = &c->switches[i].domain;
        /* A switch over only unknown nodes has no array: qsort(NULL, 0) is undefined. */
        if (d->node_count)
            qsort(d->nodes, d->node_count, sizeof(*d->nodes), zn_compare_node_index);
    }
    return 0;
}

static char *next_token(char **p)
{
    char *s = *p, *start;

    while (*s && isspace((unsigned char)*s))
        s++;
    if (!*s)
        return NULL;
    start = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return start;
}

/* What one topology.conf has said so far, for the rules across lines. */
struct topo_file {
    unsigned switch_line, block_line, sizes_line; /* first line of each kind, 0: none yet */
    size_t blocks_before;                         /* blocks the model had (node features) */
};

struct block_walk {
    struct zn_cluster *c;
    const char *name, *source;
    unsigned line;
    struct zn_error *err;
};

static int add_block_node(const char *name, void *arg)
{
    struct block_walk *w = arg;
    long node = zn_cluster_find_node(w->c, name);

    if (node < 0) {
        w->c->unknown_nodes++;
        return 0;
    }
    if (w->c->nodes[node].block >= 0)
        return zn_fail(
            w->err, "%s:%u: node %s is in blocks %s and %s; an NVLink block is one per node",
            w->source, w->line, name, w->c->blocks[w->c->nodes[node].block].name, w->name);
    return zn_cluster_set_block(w->c, (size_t)node, w->name, w->err);
}

/* BlockSizes=B,2B,4B: the first is the base, each a power-of-two multiple of it. */
static int parse_block_sizes(struct zn_cluster *c, const char *value, const char *source,
                             unsigned lineno, struct zn_error *err)
{
    const char *p = value;
    unsigned base = 0, levels = 0;

    while (*p) {
        uint64_t size, quotient;
        unsigned level = 0;

        if (zn_parse_digits(&p, &size) < 0 || size == 0 || size > UINT32_MAX || (*p && *p != ','))
            return zn_fail(err,
                           "%s:%u: BlockSizes=%s: each size is a positive number of nodes, "
                           "e.g. BlockSizes=18,36,72",
                           source, lineno, value);
        if (!base)
            base = (unsigned)size;
        quotient = size / base;
        if (size % base || (quotient & (quotient - 1)))
            return zn_fail(err,
                           "%s:%u: BlockSizes=%s: %" PRIu64 " is not the base size %u times a "
                           "power of two",
                           source, lineno, value, size, base);
        while ((1ull << level) < quotient)
            level++;
        if (level > 15)
            return zn_fail(err, "%s:%u: BlockSizes=%s: %" PRIu64 " is more than 2^15 base blocks",
                           source, lineno, value, size);
        levels |= 1u << level;
        if (*p == ',')
            p++;
    }
    if (!base)
        return zn_fail(err, "%s:%u: BlockSizes= is empty", source, lineno);
    c->block_base = base;
    c->block_levels = levels;
    return 0;
}

static int parse_block(struct zn_cluster *c, struct topo_file *tf, const char *name,
                       const char *nodes, const char *source, unsigned lineno, struct zn_error *err)
{
    struct block_walk w = {c, name, source, lineno, err};

    if (tf->switch_line)
        return zn_fail(err,
                       "%s:%u: BlockName (topology/block) in a file with SwitchName lines "
                       "(topology/tree, line %u); a topology.conf is one or the other",
                       source, lineno, tf->switch_line);
    if (!nodes)
        return zn_fail(err, "%s:%u: block %s has no Nodes=", source, lineno, name);
    for (size_t b = tf->blocks_before; b < c->block_count; b++)
        if (strcmp(c->blocks[b].name, name) == 0)
            return zn_fail(err, "%s:%u: block %s is defined twice", source, lineno, name);
    if (!tf->block_line)
        tf->block_line = lineno;
    return zn_hostlist_each("Nodes", nodes, add_block_node, &w, err) != 0 ? -1 : 0;
}

static int parse_line(struct zn_cluster *c, struct topo_file *tf, char *line, const char *source,
                      unsigned lineno, struct zn_error *err)
{
    char *name = NULL, *nodes = NULL, *children = NULL, *block = NULL, *sizes = NULL, *tok;
    char *p = line;
    struct zn_switch *s;
    size_t index;

    while ((tok = next_token(&p))) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1])
            return zn_fail(err, "%s:%u: \"%s\" is not KEY=VALUE", source, lineno, tok);
        *eq = '\0';
        if (strcasecmp(tok, "SwitchName") == 0)
            name = eq + 1;
        else if (strcasecmp(tok, "Nodes") == 0)
            nodes = eq + 1;
        else if (strcasecmp(tok, "Switches") == 0)
            children = eq + 1;
        else if (strcasecmp(tok, "BlockName") == 0)
            block = eq + 1;
        else if (strcasecmp(tok, "BlockSizes") == 0)
            sizes = eq + 1;
        else if (strcasecmp(tok, "LinkSpeed") != 0)
            return zn_fail(err,
                           "%s:%u: unknown key %s (topology.conf has SwitchName, "
                           "Nodes, Switches, LinkSpeed; or BlockName, Nodes, BlockSizes)",
                           source, lineno, tok);
    }
    if (sizes) {
        if (name || block || nodes || children)
            return zn_fail(err, "%s:%u: BlockSizes= goes on a line of its own", source, lineno);
        if (tf->sizes_line)
            return zn_fail(err, "%s:%u: BlockSizes is given twice (first on line %u)", source,
                           lineno, tf->sizes_line);
        if (tf->switch_line)
            return zn_fail(err,
                           "%s:%u: BlockSizes (topology/block) in a file with SwitchName lines "
                           "(topology/tree, line %u); a topology.conf is one or the other",
                           source, lineno, tf->switch_line);
        tf->sizes_line = lineno;
        return parse_block_sizes(c, sizes, source, lineno, err);
    }
    if (block) {
        if (name || children)
            return zn_fail(err, "%s:%u: block %s: a line has BlockName or SwitchName, not both",
                           source, lineno, block);
        return parse_block(c, tf, block, nodes, source, lineno, err);
    }
    if (!name && !nodes && !children)
        return 0;
    if (name && (tf->block_line || tf->sizes_line))
        return zn_fail(err,
                       "%s:%u: SwitchName (topology/tree) in a file with BlockName or "
                       "BlockSizes lines (topology/block, line %u); a topology.conf is one or "
                       "the other",
                       source, lineno, tf->block_line ? tf->block_line : tf->sizes_line);
    if (name && !tf->switch_line)
        tf->switch_line = lineno;
    if (!name)
        return zn_fail(err, "%s:%u: a line without SwitchName=", source, lineno);
    if (nodes && children)
        return zn_fail(err, "%s:%u: switch %s has both Nodes= and Switches=", source, lineno, name);
    if (!nodes && !children)
        return zn_fail(err, "%s:%u: switch %s has neither Nodes= nor Switches=", source, lineno,
                       name);
    if (find_switch(c, name) >= 0)
        return zn_fail(err, "%s:%u: switch %s is defined twice", source, lineno, name);
    index = c->switch_count;
    if (grow((void **)&c->switches, &c->switch_cap, index + 1, sizeof(*c->switches), err) < 0)
        return -1;
    s = &c->switches[index];
    s->parent = -1;
    s->domain.name = strdup(name);
    s->children = children ? strdup(children) : NULL;
    if (!s->domain.name || (children && !s->children))
        return zn_fail(err, "out of memory for the cluster model");
    c->switch_count++;
    if (nodes) {
        struct leaf_walk w = {c, index, source, lineno, err};
        if (zn_hostlist_each("Nodes", nodes, add_leaf_node, &w, err) != 0)
            return -1;
        /* A leaf of nodes all unknown here has no array: qsort(NULL, 0) is undefined. */
        if (s->domain.node_count)
            qsort(s->domain.nodes, s->domain.node_count, sizeof(size_t), zn_compare_node_index);
    }
    return 0;
}

/* Every block after the node features' ones is the file's; the base size must hold in all. */
static int finish_blocks(struct zn_cluster *c, const struct topo_file *tf, const char *source,
                         struct zn_error *err)
{
    if (!tf->block_line) {
        if (tf->sizes_line)
            return zn_fail(err, "%s:%u: BlockSizes without any BlockName line", source,
                           tf->sizes_line);
        return 0;
    }
    if (!tf->sizes_line) {
        c->block_base = (unsigned)c->blocks[tf->blocks_before].node_count;
        c->block_levels = 0xf; /* Slurm's default: 1, 2, 4 and 8 base blocks */
    }
    for (size_t b = tf->blocks_before; b < c->block_count; b++)
        if (c->blocks[b].node_count < c->block_base)
            return zn_fail(err,
                           "%s: block %s has %zu nodes here, fewer than the base block size %u "
                           "(%s); slurmctld refuses that",
                           source, c->blocks[b].name, c->blocks[b].node_count, c->block_base,
                           tf->sizes_line ? "BlockSizes' first value" : "the first block's");
    return 0;
}

/* The blocks a failed file added go, and the nodes it put in them leave them. */
static void drop_file_blocks(struct zn_cluster *c, size_t blocks_before)
{
    for (size_t i = 0; i < c->node_count; i++)
        if (c->nodes[i].block >= (int)blocks_before)
            c->nodes[i].block = -1;
    for (size_t b = blocks_before; b < c->block_count; b++) {
        free_domain(&c->blocks[b]);
        c->blocks[b] = (struct zn_domain){0};
    }
    c->block_count = blocks_before;
    c->block_base = 0;
    c->block_levels = 0;
}

/* A topology.conf that failed half way leaves no switch behind: the model is as before. */
static void drop_tree(struct zn_cluster *c)
{
    for (size_t i = 0; i < c->switch_count; i++) {
        free_domain(&c->switches[i].domain);
        free(c->switches[i].children);
    }
    /* A model that never had a switch has no array: memset(NULL, 0, 0) is undefined. */
    if (c->switches)
        memset(c->switches, 0, c->switch_cap * sizeof(*c->switches));
    c->switch_count = 0;
    c->top_level = 0;
    c->unknown_nodes = 0;
    for (size_t i = 0; i < c->node_count; i++)
        c->nodes[i].leaf = -1;
}

int zn_cluster_load_topology(struct zn_cluster *c, const char *text, const char *source,
                             struct zn_error *err)
{
    char *copy, *line, *next;
    unsigned lineno = 0;
    struct topo_file tf = {0, 0, 0, c->block_count};
    int rc = -1;

    if (c->switch_count || c->block_base)
        return zn_fail(err, "%s: the cluster model already has a topology", source);
    copy = strdup(text);
    if (!copy)
        return zn_fail(err, "out of memory reading %s", source);
    for (line = copy; line; line = next) {
        char *hash;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        /* A trailing backslash continues the line, as in Slurm's configuration files. */
        while (next && *line && line[strlen(line) - 1] == '\\') {
            char *more = next;
            line[strlen(line) - 1] = ' ';
            next = strchr(more, '\n');
            if (next)
                *next++ = '\0';
            hash = strchr(more, '#');
            if (hash)
                *hash = '\0';
            memmove(line + strlen(line), more, strlen(more) + 1);
        }
        if (parse_line(c, &tf, line, source, lineno, err) < 0)
            goto out;
    }
    if (finish_tree(c, source, err) < 0 || finish_blocks(c, &tf, source, err) < 0)
        goto out;
    rc = 0;
out:
    free(copy);
    if (rc < 0) {
        drop_tree(c);
        drop_file_blocks(c, tf.blocks_before);
    }
    return rc;
}

int zn_cluster_read_topology_file(struct zn_cluster *c, const char *path, struct zn_error *err)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    int rc = -1;

    if (!f)
        return zn_fail(err, "cannot read %s: %s", path, strerror(errno));
    do {
        if (grow((void **)&text, &cap, len + 4097, 1, err) < 0)
            goto out;
        got = fread(text + len, 1, 4096, f);
        len += got;
        if (len > ZN_TOPOLOGY_FILE_MAX) {
            zn_fail(err, "%s is larger than %u MiB; is it a topology.conf?", path,
                    ZN_TOPOLOGY_FILE_MAX >> 20);
            goto out;
        }
    } while (got > 0);
    if (ferror(f)) {
        zn_fail(err, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (memchr(text, '\0', len)) {
        zn_fail(err, "%s is not a text file", path);
        goto out;
    }
    text[len] = '\0';
    rc = zn_cluster_load_topology(c, text, path, err);
out:
    free(text);
    fclose(f);
    return rc;
}
