/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Property test of the planner: random step shapes (task counts, GPU subsets, allowed CPU sets,
 * modes, cores per task) on every topology fixture. Each plan must satisfy the invariants of
 * invariants.c, and the same request must give the same plan twice. The shapes come from a
 * fixed seed, so a failure repeats; ZENITH_PROPERTY_SEED=N tries other shapes, and every
 * failure names the seed, the shape and the zenith-plan command that shows it. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/golden/invariants.h"
#include "tests/golden/topologies.h"
#include "tests/unit/testutil.h"

#define SHAPES_PER_TOPOLOGY 400

static uint64_t seed = 0x5eed2026u;

/* splitmix64: small, and the same sequence everywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned below(uint64_t *state, unsigned n)
{
    return n ? (unsigned)(next_random(state) % n) : 0;
}

struct shape {
    hwloc_bitmap_t allowed;
    char gpus[256];
    unsigned ntasks;
    struct zn_policy policy;
};

/* The CPUs a step may use: the whole node, one package, a run of cores, random cores, or
 * random single CPUs (a cpuset that splits cores). */
static void random_allowed(const struct zn_topology *topo, uint64_t *rng, hwloc_bitmap_t out)
{
    unsigned kind = below(rng, 5), first = below(rng, (unsigned)topo->ncores);
    unsigned run = 1 + below(rng, (unsigned)topo->ncores - first);
    int package = topo->cores[below(rng, (unsigned)topo->ncores)].package;
    int pu;

    hwloc_bitmap_zero(out);
    for (size_t c = 0; c < topo->ncores; c++) {
        bool take = kind == 0 || (kind == 1 && topo->cores[c].package == package) ||
                    (kind == 2 && c >= first && c < first + run) ||
                    (kind == 3 && below(rng, 3) != 0);
        if (take)
            hwloc_bitmap_or(out, out, topo->cores[c].pus);
        if (kind == 4) {
            hwloc_bitmap_foreach_begin(pu, topo->cores[c].pus)
            {
                if (below(rng, 2))
                    hwloc_bitmap_set(out, (unsigned)pu);
            }
            hwloc_bitmap_foreach_end();
        }
    }
    if (hwloc_bitmap_iszero(out))
        hwloc_bitmap_or(out, out, topo->cores[first].pus);
}

static void random_gpus(const struct zn_topology *topo, uint64_t *rng, char *buf, size_t len)
{
    unsigned kind = below(rng, 4);
    size_t used = 0;

    buf[0] = '\0';
    if (!topo->ngpus || kind == 0)
        return;
    for (size_t g = 0; g < topo->ngpus && used + 8 < len; g++)
        if (kind == 1 || below(rng, 2))
            used += (size_t)snprintf(buf + used, len - used, "%s%zu", used ? "," : "", g);
    if (!used)
        snprintf(buf, len, "%u", below(rng, (unsigned)topo->ngpus));
}

static void random_shape(const struct zn_topology *topo, uint64_t *rng, struct shape *s)
{
    unsigned ngpus = 0, cpus, cores = 0;

    random_allowed(topo, rng, s->allowed);
    random_gpus(topo, rng, s->gpus, sizeof(s->gpus));
    for (const char *c = s->gpus; *c; c++)
        ngpus += *c == ',';
    ngpus += s->gpus[0] ? 1 : 0;
    cpus = (unsigned)hwloc_bitmap_weight(s->allowed);
    for (size_t c = 0; c < topo->ncores; c++)
        cores += hwloc_bitmap_intersects(topo->cores[c].pus, s->allowed) ? 1 : 0;
    switch (below(rng, 4)) {
    case 0: /* a few tasks per GPU, or a few CPU tasks */
        s->ntasks = (ngpus ? ngpus : 1) * (1 + below(rng, 3));
        break;
    case 1: /* around the core count: the edge between whole cores and split ones */
        s->ntasks = cores + below(rng, 3) - (cores > 1 ? 1 : 0);
        break;
    case 2: /* around the CPU count: the edge between split CPUs and shared ones */
        s->ntasks = cpus + below(rng, 3) - (cpus > 1 ? 1 : 0);
        break;
    default:
        s->ntasks = 1 + below(rng, 2 * cpus + 2);
    }
    memset(&s->policy, 0, sizeof(s->policy));
    s->policy.bind = ngpus && below(rng, 3) == 0 ? ZN_BIND_GPU : ZN_BIND_AUTO;
    if (s->ntasks <= cores && below(rng, 4) == 0)
        s->policy.bind = ZN_BIND_CORE;
    if (s->ntasks <= cores && below(rng, 5) == 0)
        s->policy.cores_per_task = 1 + below(rng, cores / s->ntasks);
    s->policy.mem = below(rng, 4) == 0 ? ZN_MEM_BIND : ZN_MEM_DEFAULT;
}

static bool same_plan(const struct zn_plan *a, const struct zn_plan *b)
{
    if (a->ntasks != b->ntasks || a->units_idle != b->units_idle || a->ngpus != b->ngpus)
        return false;
    for (unsigned i = 0; i < a->ntasks; i++)
        if (!hwloc_bitmap_isequal(a->tasks[i].cpus, b->tasks[i].cpus) ||
            !hwloc_bitmap_isequal(a->tasks[i].mems, b->tasks[i].mems) ||
            a->tasks[i].gpu != b->tasks[i].gpu || a->tasks[i].nic != b->tasks[i].nic)
            return false;
    for (size_t k = 0; k < a->ngpus; k++)
        if (a->gpu_order[k] != b->gpu_order[k])
            return false;
    return true;
}

static const char *const *topology_paths;

START_TEST(test_random_shapes)
{
    const struct topology_case *tc = &golden_topologies[_i];
    const char *path = topology_paths[_i];
    struct shape s = {.allowed = hwloc_bitmap_alloc()};
    uint64_t rng = seed ^ ((uint64_t)_i << 32);
    unsigned planned = 0, refused = 0;

    if (!path) {
        printf("skipped: no ../shared fixtures (%s)\n", tc->file);
        hwloc_bitmap_free(s.allowed);
        return;
    }
    struct zn_topology *topo = test_load(path);
    for (unsigned k = 0; k < SHAPES_PER_TOPOLOGY; k++) {
        struct zn_step_gpus gpus = {0};
        struct zn_error err = {{0}};
        random_shape(topo, &rng, &s);
        char *cpus = NULL;
        hwloc_bitmap_list_asprintf(&cpus, s.allowed);
        ck_assert_msg(!s.gpus[0] ||
                          zn_step_gpus_from_list(topo, "--gpus", s.gpus, &gpus, &err) == 0,
                      "%s", err.text);
        struct zn_request req = {.topo = topo,
                                 .allowed = s.allowed,
                                 .gpus = &gpus,
                                 .ntasks = s.ntasks,
                                 .policy = s.policy};
        char command[1024];
        snprintf(command, sizeof(command),
                 "seed %" PRIu64 ", shape %u: zenith-plan --xml %s --tasks %u%s%s --cpus %s "
                 "--bind %s%s%u",
                 seed, k, tc->file, s.ntasks, s.gpus[0] ? " --gpus " : "", s.gpus, cpus,
                 zn_bind_name(s.policy.bind), " --cores-per-task ", s.policy.cores_per_task);
        struct zn_plan *plan = zn_plan_compute(&req, &err);
        if (!plan) {
            /* The one refusal a random shape may meet: whole cores for more tasks than
             * there are cores is impossible. */
            ck_assert_msg(s.policy.bind == ZN_BIND_CORE && strstr(err.text, "bind=core"),
                          "%s: refused: %s", command, err.text);
            refused++;
        } else {
            const char *bad = check_plan_invariants(plan, s.allowed);
            ck_assert_msg(bad == NULL, "%s: %s", command, bad);
            struct zn_plan *again = zn_plan_compute(&req, &err);
            ck_assert_msg(again && same_plan(plan, again), "%s: a second plan differs", command);
            zn_plan_destroy(again);
            zn_plan_destroy(plan);
            planned++;
        }
        free(cpus);
        zn_step_gpus_clear(&gpus);
    }
    printf("%s: %u random shapes planned, %u refused as they must be\n", tc->file, planned,
           refused);
    ck_assert_uint_gt(planned, SHAPES_PER_TOPOLOGY / 2);
    zn_topology_destroy(topo);
    hwloc_bitmap_free(s.allowed);
}
END_TEST

int main(void)
{
    const char *env = getenv("ZENITH_PROPERTY_SEED");
    const char **paths = calloc(golden_ntopologies, sizeof(*paths));

    if (env && *env)
        seed = strtoull(env, NULL, 0);
    for (size_t t = 0; paths && t < golden_ntopologies; t++) {
        const char *p = golden_topology_path(&golden_topologies[t]);
        paths[t] = p ? strdup(p) : NULL; /* the helper's buffer is static */
    }
    topology_paths = paths;
    TCase *tc = tcase_create("properties");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_random_shapes, 0, (int)golden_ntopologies);
    return test_run("properties", tc);
}
