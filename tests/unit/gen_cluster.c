/*  gen_cluster.c - generated vm-cluster-v1 clusters (see gen_cluster.h).

    Writes the file as it draws: hosts, then VMs (each on a host drawn by weight among
    those it fits, memory kept 2 % under capacity and vCPUs within 4 per core), then rules.
    Only this file and the caller's path are touched; nothing global is kept.
*/
#include "gen_cluster.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const gen_flavour_t gen_mix [GEN_MIX_COUNT] = {
    { 1, 1792, 7123 }, { 2, 3584, 3762 }, { 4, 7168, 1628 }, { 8, 14336, 1603 },
    { 8, 57344, 575 }, { 1, 768, 295 }, { 1, 2048, 5 }, { 2, 4096, 3 }, { 2, 14336, 2 },
    { 16, 114688, 2 }, { 2, 16384, 1 }, { 4, 28672, 1 },
};

//  xorshift64*: seeded, the same on every libc.
uint64_t
gen_next (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

//  Uniform in [0, 1).
double
gen_uniform (uint64_t *state)
{
    return (double) (gen_next (state) >> 11) / 9007199254740992.0;
}

//  A flavour index drawn from the first count flavours of the mix by weight.
size_t
gen_flavour (uint64_t *state, size_t count)
{
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += gen_mix [i].weight;
    uint64_t pick = gen_next (state) % total;
    for (size_t i = 0; i < count; i++) {
        if (pick < gen_mix [i].weight)
            return i;
        pick -= gen_mix [i].weight;
    }
    return 0;
}

//  --------------------------------------------------------------------------------------
//  The cluster

//  Host index for a weighted pick in [0, total): binary search of the cumulative weights.
static size_t
s_pick (const double *cumulative, size_t count, double pick)
{
    size_t lo = 0, hi = count - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cumulative [mid] <= pick)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

//  The extras of one VM (options.extras): every 20th is not migratable, in turn declared so,
//  nested, with host devices; every 7th was migrated 10 minutes before the file's time.
static void
s_vm_extras (FILE *out, size_t v)
{
    static const char *kinds [] = { "\"migratable\": false", "\"nested\": true",
                                    "\"host_devices\": true" };
    if (v % 20 == 19)
        fprintf (out, ", %s", kinds [(v / 20) % 3]);
    if (v % 7 == 3)
        fprintf (out, ", \"last_migrated\": 1700000000");
}

//  Rules of options.extras: per 25 hosts one hard anti-affinity rule of three VMs placed on
//  different hosts, and per 50 hosts one must-not rule keeping a VM off the first ten hosts
//  other than its own.
static void
s_rules (FILE *out, const long *vm_host, size_t vm_count, size_t host_count)
{
    fprintf (out, ",\n \"rules\": [\n");
    bool first = true;
    size_t v = 0;
    for (size_t r = 0; r < host_count / 25 + 1 && v < vm_count; r++) {
        long hosts [3];
        size_t vms [3], found = 0;
        for (; v < vm_count && found < 3; v++) {
            bool clash = vm_host [v] < 0;
            for (size_t k = 0; k < found; k++)
                clash |= hosts [k] == vm_host [v];
            if (!clash) {
                hosts [found] = vm_host [v];
                vms [found++] = v;
            }
        }
        if (found < 3)
            break;
        fprintf (out, "%s  {\"kind\": \"anti-affinity\", \"name\": \"apart-%zu\", \"hard\": true, "
                 "\"vms\": [\"vm%06zu\", \"vm%06zu\", \"vm%06zu\"]}", first? "": ",\n", r,
                 vms [0] + 1, vms [1] + 1, vms [2] + 1);
        first = false;
    }
    for (size_t r = 0; r < host_count / 50 + 1 && host_count > 11; r++) {
        size_t vm = (r * 37 + 5) % vm_count;
        if (vm_host [vm] < 0)
            continue;
        fprintf (out, "%s  {\"kind\": \"vm-host\", \"name\": \"away-%zu\", \"vms\": "
                 "[\"vm%06zu\"], \"must\": false, \"hard\": true, \"hosts\": [", first? "": ",\n",
                 r, vm + 1);
        first = false;
        for (long h = 0, listed = 0; listed < 10; h++)
            if (h != vm_host [vm])
                fprintf (out, "%s\"node%05ld\"", listed++? ", ": "", h + 1);
        fprintf (out, "]}");
    }
    fprintf (out, "\n ]");
}

int
gen_cluster_write (const gen_cluster_options_t *options, const char *path, const char *script)
{
    const uint32_t cpus = 48;
    const uint64_t memory = 262144, reserved = 4096;
    const double headroom = 0.02, vcpu_ratio = 4.0;
    size_t host_count = options->hosts;
    size_t per_host = options->vms_per_host? options->vms_per_host: 15;
    size_t vm_count = host_count * per_host;
    uint64_t state = options->seed * 0x9e3779b97f4a7c15ULL + 1;
    double *weight = calloc (host_count + 1, sizeof (double));
    double *cumulative = calloc (host_count + 1, sizeof (double));
    uint64_t *mem_used = calloc (host_count + 1, sizeof (uint64_t));
    uint64_t *vcpu_used = calloc (host_count + 1, sizeof (uint64_t));
    long *vm_host = calloc (vm_count + 1, sizeof (long));
    size_t *template = calloc (per_host, sizeof (size_t));
    double *template_util = calloc (per_host, sizeof (double));
    FILE *out = host_count? fopen (path, "w"): NULL;
    if (!weight || !cumulative || !mem_used || !vcpu_used || !vm_host || !template
    ||  !template_util || !out) {
        fprintf (stderr, "gen_cluster: cannot write '%s': %s\n", path,
                 host_count? strerror (errno): "no hosts");
        free (weight), free (cumulative), free (mem_used), free (vcpu_used), free (vm_host);
        free (template), free (template_util);
        if (out)
            fclose (out);
        return -1;
    }
    //  10 % of hosts empty; the others weighted log-normally (skew 1.0), so some are
    //  crowded and some nearly idle.
    double total = 0;
    for (size_t h = 0; h < host_count; h++) {
        double u1 = gen_uniform (&state), u2 = gen_uniform (&state);
        double normal = sqrt (-2.0 * log (1.0 - u1)) * cos (2.0 * M_PI * u2);
        weight [h] = gen_uniform (&state) < 0.1? 0: exp (normal);
        total += weight [h];
        cumulative [h] = total;
    }
    //  Balanced: one host's worth of VMs, the same on every host.
    for (size_t k = 0; options->balanced && k < per_host; k++) {
        template [k] = gen_flavour (&state, 5);
        double u = gen_uniform (&state);
        template_util [k] = u * u * u * u * u;
    }
    fprintf (out, "{\n \"format\": \"vm-cluster-v1\",\n"
             " \"generator\": {\"script\": \"%s\", \"nodes\": %zu, "
             "\"seed\": %llu, \"vms_per_node\": %zu, \"empty_frac\": %s, \"skew\": %s, "
             "\"mem_headroom\": %.2f, \"max_vcpu_ratio\": %.1f, \"mix\": \"azure2017\"%s},\n",
             script, host_count, (unsigned long long) options->seed, per_host,
             options->balanced? "0": "0.1", options->balanced? "0": "1.0", headroom, vcpu_ratio,
             options->extras? ", \"extras\": true": "");
    if (options->extras)
        fprintf (out, " \"time\": 1700000600,\n");
    fprintf (out, " \"hosts\": [\n");
    for (size_t h = 0; h < host_count; h++)
        fprintf (out, "  {\"name\": \"node%05zu\", \"cpus\": %u, \"mem_mib\": %llu, "
                 "\"mem_reserved_mib\": %llu, \"disk_mib\": 1048576%s}%s\n", h + 1, cpus,
                 (unsigned long long) memory, (unsigned long long) reserved,
                 options->extras && h == 1? ", \"state\": \"maintenance\"": "",
                 h + 1 < host_count? ",": "");
    fprintf (out, " ],\n \"vms\": [\n");
    uint64_t mem_cap = (uint64_t) ((double) (memory - reserved) * (1.0 - headroom));
    uint64_t vcpu_cap = (uint64_t) (cpus * vcpu_ratio);
    for (size_t v = 0; v < vm_count; v++) {
        const gen_flavour_t *flavour;
        long host = -1;
        double util;
        if (options->balanced) {
            flavour = &gen_mix [template [v % per_host]];
            util = template_util [v % per_host];
            host = (long) (v / per_host);
        }
        else {
            flavour = &gen_mix [gen_flavour (&state, GEN_MIX_COUNT)];
            for (int attempt = 0; attempt < 50 && host < 0; attempt++) {
                size_t lo = s_pick (cumulative, host_count, gen_uniform (&state) * total);
                if (mem_used [lo] + flavour->memory_mib <= mem_cap
                &&  vcpu_used [lo] + flavour->vcpus <= vcpu_cap)
                    host = (long) lo;
            }
            util = gen_uniform (&state);
            util = util * util * util * util * util;    // mean 1/6, like Beta(0.7, 3.5)
        }
        vm_host [v] = host;
        fprintf (out, "  {\"name\": \"vm%06zu\", \"vcpus\": %u, \"mem_mib\": %llu, "
                 "\"cpu_util\": %.4f, \"cpu_load\": %.4f, ", v + 1, flavour->vcpus,
                 (unsigned long long) flavour->memory_mib, util, util * flavour->vcpus);
        if (host >= 0) {
            mem_used [host] += flavour->memory_mib;
            vcpu_used [host] += flavour->vcpus;
            fprintf (out, "\"host\": \"node%05ld\"", host + 1);
        }
        else
            fprintf (out, "\"host\": null");
        if (options->extras)
            s_vm_extras (out, v);
        fprintf (out, "}%s\n", v + 1 < vm_count? ",": "");
    }
    fprintf (out, " ]");
    if (options->extras)
        s_rules (out, vm_host, vm_count, host_count);
    fprintf (out, "\n}\n");
    int rc = fclose (out) == 0? 0: -1;
    if (rc)
        fprintf (stderr, "gen_cluster: cannot write '%s': %s\n", path, strerror (errno));
    free (weight), free (cumulative), free (mem_used), free (vcpu_used), free (vm_host);
    free (template), free (template_util);
    return rc;
}
