/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/parse.h"
#include "runtime/report.h"

/* ------------------------------------------------------------------ small helpers */

static char *list_of(hwloc_const_bitmap_t set)
{
    char *s = NULL;
    if (hwloc_bitmap_iszero(set))
        return strdup("-");
    if (hwloc_bitmap_list_asprintf(&s, set) < 0)
        return NULL;
    return s;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void human_bytes(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGT";
    double v = (double)bytes;
    int u = -1;

    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%lluB", (unsigned long long)bytes);
    else
        snprintf(buf, len, "%.1f%c", v, units[u]);
}

/* OS numbers of the model's NUMA nodes (by index) in set, "-" when none. */
static void numa_os_list(const struct zn_topology *topo, hwloc_const_bitmap_t set, char *buf,
                         size_t len)
{
    size_t used = 0;
    int d;

    buf[0] = '\0';
    hwloc_bitmap_foreach_begin(d, set)
    {
        if (used + 12 < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%u", used ? "," : "",
                                     topo->numa[d].os_index);
    }
    hwloc_bitmap_foreach_end();
    if (!used)
        snprintf(buf, len, "-");
}

/* ,"numa":[OS numbers] of the model's NUMA nodes (by index) in set: a list, because a device
 * can be local to several nodes (an I/O hub shared by a package's nodes). */
static void json_numa_list(FILE *out, const struct zn_topology *topo, hwloc_const_bitmap_t set)
{
    bool first = true;
    int d;

    fprintf(out, ",\"numa\":[");
    hwloc_bitmap_foreach_begin(d, set)
    {
        fprintf(out, "%s%u", first ? "" : ",", topo->numa[d].os_index);
        first = false;
    }
    hwloc_bitmap_foreach_end();
    fputc(']', out);
}

/* ------------------------------------------------------------------ plan */

struct plan_row {
    char task[16], cpus[256], cores[16], numa[64], gpu[32], pci[40], nic[48];
};

static int plan_row(const struct zn_plan *plan, unsigned i, struct plan_row *row)
{
    const struct zn_task_plan *t = &plan->tasks[i];
    char *cpus = list_of(t->cpus), *mems = list_of(t->mems);
    int rc = -1;

    if (!cpus || !mems)
        goto out;
    snprintf(row->task, sizeof(row->task), "%u", i);
    snprintf(row->cpus, sizeof(row->cpus), "%s", cpus);
    snprintf(row->cores, sizeof(row->cores), "%u", t->ncores);
    snprintf(row->numa, sizeof(row->numa), "%s", mems);
    if (t->gpu < 0) {
        strcpy(row->gpu, "-");
        strcpy(row->pci, "-");
    } else if (t->ngpus_owned == 1) {
        snprintf(row->gpu, sizeof(row->gpu), "%d", t->gpu);
        snprintf(row->pci, sizeof(row->pci), "%s",
                 zn_plan_visible_gpu(plan, (unsigned)t->gpu)->busid);
    } else {
        snprintf(row->gpu, sizeof(row->gpu), "%u-%u", t->first_gpu_owned,
                 t->first_gpu_owned + t->ngpus_owned - 1);
        snprintf(row->pci, sizeof(row->pci), "%s +%u",
                 zn_plan_visible_gpu(plan, (unsigned)t->gpu)->busid, t->ngpus_owned - 1);
    }
    if (t->nic < 0)
        strcpy(row->nic, "-");
    else
        snprintf(row->nic, sizeof(row->nic), "%s (%s)", plan->topo->nics[t->nic].name,
                 zn_nic_kind_name(plan->topo->nics[t->nic].kind));
    rc = 0;
out:
    free(cpus);
    free(mems);
    return rc;
}

#define WIDEN(w, s)                                                                                \
    do {                                                                                           \
        int l_ = (int)strlen(s);                                                                   \
        if (l_ > (w))                                                                              \
            (w) = l_;                                                                              \
    } while (0)

/* Why tasks did not all get the same number of cores, and why cores stayed idle. */
static void print_share_notes(FILE *out, const struct zn_plan *plan)
{
    const char *unit = plan->cpus_split ? "CPUs" : "cores";
    unsigned least = UINT_MAX, most = 0, used = 0;

    if (plan->bind != ZN_BIND_GPU && plan->bind != ZN_BIND_CORE)
        return;
    for (unsigned i = 0; i < plan->ntasks; i++) {
        unsigned n = plan->tasks[i].ncores;
        least = n < least ? n : least;
        most = n > most ? n : most;
        used += n;
    }
    if (plan->cores_shared) {
        hwloc_bitmap_t all = hwloc_bitmap_alloc();
        for (unsigned i = 0; all && i < plan->ntasks; i++)
            hwloc_bitmap_or(all, all, plan->tasks[i].cpus);
        unsigned cpus = all ? (unsigned)hwloc_bitmap_weight(all) : 0;
        unsigned low = cpus ? plan->ntasks / cpus : 0,
                 high = cpus ? (plan->ntasks + cpus - 1) / cpus : 0;
        if (cpus && low == high)
            fprintf(out, "note: each of the %u CPUs runs %u tasks\n", cpus, low);
        else if (cpus)
            fprintf(out, "note: each of the %u CPUs runs %u or %u tasks\n", cpus, low, high);
        hwloc_bitmap_free(all);
        return;
    }
    if (least != most)
        fprintf(out,
                "note: tasks got %u or %u %s: %u allowed %s do not divide evenly by %u tasks\n",
                least, most, unit, used + plan->units_idle, unit, plan->ntasks);
    if (plan->units_idle && plan->cores_per_task)
        fprintf(out,
                "note: %u allowed %s stay idle: every task gets the %u cores per task asked for\n",
                plan->units_idle, unit, plan->cores_per_task);
    else if (plan->units_idle == 1)
        fprintf(out,
                "note: 1 allowed %.*s stays idle: handing it out would give a task two more than "
                "another or move a task onto another NUMA node\n",
                (int)strlen(unit) - 1, unit);
    else if (plan->units_idle)
        fprintf(out,
                "note: %u allowed %s stay idle: handing them out would give some tasks two more "
                "than others or move a task onto another NUMA node\n",
                plan->units_idle, unit);
}

int zn_report_plan_text(FILE *out, const struct zn_plan *plan, const char *node)
{
    struct plan_row header = {"task", "cpus", "cores", "numa", "gpu", "gpu-pci", "nic"};
    struct plan_row *rows = calloc(plan->ntasks, sizeof(*rows));
    int w[7] = {0}, rc = -1;

    if (!rows)
        return -1;
    /* Once cores are split (more tasks than cores), each task's count is of hardware threads:
     * a column still headed "cores" would claim twice what the tasks have on SMT2. */
    if (plan->cpus_split)
        snprintf(header.cores, sizeof(header.cores), "threads");
    for (unsigned i = 0; i < plan->ntasks; i++)
        if (plan_row(plan, i, &rows[i]) < 0)
            goto out;
    for (unsigned i = 0; i <= plan->ntasks; i++) {
        const struct plan_row *r = i == plan->ntasks ? &header : &rows[i];
        WIDEN(w[0], r->task);
        WIDEN(w[1], r->cpus);
        WIDEN(w[2], r->cores);
        WIDEN(w[3], r->numa);
        WIDEN(w[4], r->gpu);
        WIDEN(w[5], r->pci);
        WIDEN(w[6], r->nic);
    }
    fprintf(out, "zenith plan%s%s: %u task%s, bind=%s, mem=%s, %zu GPU%s\n", node ? " for " : "",
            node ? node : "", plan->ntasks, plan->ntasks == 1 ? "" : "s", zn_bind_name(plan->bind),
            zn_mem_name(plan->mem), plan->ngpus, plan->ngpus == 1 ? "" : "s");
    if (plan->ngpus) {
        fprintf(out, "gpu order (visible devices):");
        for (unsigned v = 0; v < plan->ngpus; v++)
            fprintf(out, "%s%s", v ? "," : " ", plan->step_gpus->visible[plan->gpu_order[v]]);
        fputc('\n', out);
    }
    for (unsigned i = 0; i <= plan->ntasks; i++) {
        const struct plan_row *r = i == 0 ? &header : &rows[i - 1];
        fprintf(out, "%-*s  %-*s  %*s  %-*s  %-*s  %-*s  %s\n", w[0], r->task, w[1], r->cpus, w[2],
                r->cores, w[3], r->numa, w[4], r->gpu, w[5], r->pci, r->nic);
    }
    if (plan->nhugepages) {
        char size[32];
        zn_format_size(plan->hugepage_size, size, sizeof(size));
        fprintf(out, "hugepages (%s):", size);
        for (size_t k = 0; k < plan->nhugepages; k++)
            fprintf(out, "%s numa %u x %llu", k ? "," : "", plan->hugepages[k].numa_os,
                    (unsigned long long)plan->hugepages[k].pages);
        fputc('\n', out);
    }
    if (plan->cores_shared)
        fprintf(out, "note: more tasks than CPUs, so tasks share CPUs; 'threads' counts the "
                     "hardware threads each task runs on\n");
    else if (plan->cpus_split)
        fprintf(out, "note: more tasks than cores, so tasks got hyperthreads, not whole cores; "
                     "'threads' counts them\n");
    print_share_notes(out, plan);
    rc = ferror(out) ? -1 : 0;
out:
    free(rows);
    return rc;
}

int zn_report_plan_json(FILE *out, const struct zn_plan *plan, const char *node)
{
    fprintf(out, "{\"node\":");
    if (node)
        json_string(out, node);
    else
        fprintf(out, "null");
    fprintf(out, ",\"topology\":");
    json_string(out, plan->topo->source);
    fprintf(out, ",\"bind\":\"%s\",\"mem\":\"%s\",\"cores_shared\":%s,\"cpus_split\":%s",
            zn_bind_name(plan->bind), zn_mem_name(plan->mem), plan->cores_shared ? "true" : "false",
            plan->cpus_split ? "true" : "false");
    fprintf(out, ",\"units_idle\":%u", plan->units_idle);
    fprintf(out, ",\"gpu_order\":[");
    for (unsigned v = 0; v < plan->ngpus; v++) {
        fprintf(out, "%s{\"visible\":", v ? "," : "");
        json_string(out, plan->step_gpus->visible[plan->gpu_order[v]]);
        fprintf(out, ",\"slurm_index\":%u,\"pci\":\"%s\"}", zn_plan_gpu_index(plan, v),
                zn_plan_visible_gpu(plan, v)->busid);
    }
    fprintf(out, "],\"tasks\":[");
    for (unsigned i = 0; i < plan->ntasks; i++) {
        const struct zn_task_plan *t = &plan->tasks[i];
        char *cpus = NULL, *mems = NULL;
        hwloc_bitmap_list_asprintf(&cpus, t->cpus);
        hwloc_bitmap_list_asprintf(&mems, t->mems);
        fprintf(out, "%s{\"task\":%u,\"cpus\":", i ? "," : "", i);
        json_string(out, cpus);
        fprintf(out, ",\"cores\":%u,\"mems\":", t->ncores);
        json_string(out, mems);
        fprintf(out, ",\"gpu\":%d,\"gpus\":[", t->gpu);
        for (unsigned g = 0; t->gpu >= 0 && g < t->ngpus_owned; g++)
            fprintf(out, "%s%u", g ? "," : "", t->first_gpu_owned + g);
        fprintf(out, "],\"nic\":");
        if (t->nic >= 0)
            json_string(out, plan->topo->nics[t->nic].name);
        else
            fprintf(out, "null");
        fputc('}', out);
        free(cpus);
        free(mems);
    }
    fprintf(out, "],\"hugepages\":{\"page_size\":%llu,\"nodes\":[",
            (unsigned long long)plan->hugepage_size);
    for (size_t k = 0; k < plan->nhugepages; k++)
        fprintf(out, "%s{\"numa\":%u,\"pages\":%llu}", k ? "," : "", plan->hugepages[k].numa_os,
                (unsigned long long)plan->hugepages[k].pages);
    fprintf(out, "]}}\n");
    return ferror(out) ? -1 : 0;
}

/* ------------------------------------------------------------------ topology */

static void pools_text(const struct zn_numa *numa, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < numa->npools && used + 1 < len; k++) {
        char size[32];
        zn_format_size(numa->pools[k].size, size, sizeof(size));
        used += (size_t)snprintf(buf + used, len - used, "%s%sx%llu", k ? " " : "", size,
                                 (unsigned long long)numa->pools[k].count);
    }
    if (!buf[0])
        snprintf(buf, len, "-");
}

int zn_report_topology_text(FILE *out, const struct zn_topology *topo)
{
    fprintf(out, "topology: %s\n", topo->source);
    fprintf(out, "packages %zu, NUMA nodes %zu, cores %zu, CPUs %zu, GPUs %zu, NICs %zu\n",
            topo->npackages, topo->nnuma, topo->ncores, topo->npus, topo->ngpus, topo->nnics);
    fprintf(out, "\n%-5s %-8s %-24s %-9s %s\n", "numa", "package", "cpus", "memory", "hugepages");
    for (size_t d = 0; d < topo->nnuma; d++) {
        const struct zn_numa *numa = &topo->numa[d];
        char *cpus = list_of(numa->cpuset), mem[32], pools[128], pkg[16];
        human_bytes(numa->local_memory, mem, sizeof(mem));
        pools_text(numa, pools, sizeof(pools));
        if (numa->package < 0)
            snprintf(pkg, sizeof(pkg), "-");
        else
            snprintf(pkg, sizeof(pkg), "%d", numa->package);
        fprintf(out, "%-5u %-8s %-24s %-9s %s%s%s\n", numa->os_index, pkg,
                numa->has_cpus ? (cpus ? cpus : "?") : "(memory only)", mem, pools,
                numa->subtype ? "  " : "", numa->subtype ? numa->subtype : "");
        free(cpus);
    }
    if (topo->ngpus) {
        fprintf(out, "\n%-5s %-13s %-7s %-5s %-28s %s\n", "gpu", "pci", "vendor", "numa", "model",
                "os devices");
        for (size_t g = 0; g < topo->ngpus; g++) {
            const struct zn_gpu *gpu = &topo->gpus[g];
            char numa[64];
            numa_os_list(topo, gpu->numa_set, numa, sizeof(numa));
            fprintf(out, "%-5zu %-13s %-7s %-5s %-28s %s\n", g, gpu->busid,
                    zn_gpu_vendor_name(gpu->vendor), numa, gpu->model[0] ? gpu->model : "-",
                    gpu->osdevs[0] ? gpu->osdevs : "-");
        }
    }
    if (topo->nnics) {
        fprintf(out, "\n%-12s %-10s %-12s %-13s %s\n", "nic", "kind", "netdev", "pci", "numa");
        for (size_t k = 0; k < topo->nnics; k++) {
            const struct zn_nic *nic = &topo->nics[k];
            char numa[64];
            numa_os_list(topo, nic->numa_set, numa, sizeof(numa));
            fprintf(out, "%-12s %-10s %-12s %-13s %s\n", nic->name, zn_nic_kind_name(nic->kind),
                    nic->netdev[0] ? nic->netdev : "-", nic->busid, numa);
        }
    }
    return ferror(out) ? -1 : 0;
}

int zn_report_topology_json(FILE *out, const struct zn_topology *topo)
{
    fprintf(out, "{\"topology\":");
    json_string(out, topo->source);
    fprintf(out, ",\"packages\":%zu,\"cores\":%zu,\"cpus\":%zu,\"numa\":[", topo->npackages,
            topo->ncores, topo->npus);
    for (size_t d = 0; d < topo->nnuma; d++) {
        const struct zn_numa *numa = &topo->numa[d];
        char *cpus = NULL;
        hwloc_bitmap_list_asprintf(&cpus, numa->cpuset);
        fprintf(out, "%s{\"os_index\":%u,\"package\":%d,\"cpus\":", d ? "," : "", numa->os_index,
                numa->package);
        json_string(out, cpus);
        fprintf(out, ",\"memory\":%llu,\"subtype\":", (unsigned long long)numa->local_memory);
        if (numa->subtype)
            json_string(out, numa->subtype);
        else
            fprintf(out, "null");
        fprintf(out, ",\"hugepages\":[");
        for (size_t k = 0; k < numa->npools; k++)
            fprintf(out, "%s{\"size\":%llu,\"count\":%llu}", k ? "," : "",
                    (unsigned long long)numa->pools[k].size,
                    (unsigned long long)numa->pools[k].count);
        fprintf(out, "]}");
        free(cpus);
    }
    fprintf(out, "],\"gpus\":[");
    for (size_t g = 0; g < topo->ngpus; g++) {
        const struct zn_gpu *gpu = &topo->gpus[g];
        char *cpus = NULL;
        hwloc_bitmap_list_asprintf(&cpus, gpu->cpuset);
        fprintf(out, "%s{\"index\":%zu,\"pci\":\"%s\",\"vendor\":\"%s\",\"model\":", g ? "," : "",
                g, gpu->busid, zn_gpu_vendor_name(gpu->vendor));
        json_string(out, gpu->model);
        fprintf(out, ",\"cpus\":");
        json_string(out, cpus);
        json_numa_list(out, topo, gpu->numa_set);
        fprintf(out, ",\"os_devices\":");
        json_string(out, gpu->osdevs);
        fputc('}', out);
        free(cpus);
    }
    fprintf(out, "],\"nics\":[");
    for (size_t k = 0; k < topo->nnics; k++) {
        const struct zn_nic *nic = &topo->nics[k];
        fprintf(out, "%s{\"name\":", k ? "," : "");
        json_string(out, nic->name);
        fprintf(out, ",\"kind\":\"%s\",\"netdev\":", zn_nic_kind_name(nic->kind));
        json_string(out, nic->netdev);
        fprintf(out, ",\"port\":%u,\"pci\":\"%s\"", nic->port, nic->busid);
        json_numa_list(out, topo, nic->numa_set);
        fputc('}', out);
    }
    fprintf(out, "]}\n");
    return ferror(out) ? -1 : 0;
}
