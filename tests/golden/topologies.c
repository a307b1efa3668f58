/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>

#include "tests/golden/topologies.h"
#include "tests/unit/testutil.h"

const struct topology_case golden_topologies[] = {
    {"aws-g4dn.metal_2xXeon8259CL_8xT4_EFA_hwloc2.8.xml", true},
    {"llnl-corona145_2xEPYC7401-8NUMA_4xAMD-MI50_hwloc2.2.xml", true},
    {"llnl-lassen28_2xPOWER9_4xV100-NVLink_hwloc2.2.xml", true},
    {"nvidia-dgx2h_2xXeon8174_16xV100-NVSwitch_trimmedCPUs_hwloc2.xml", true},
    {"supermicro-inti6000_2xEPYC7551-8NUMA_cpuonly_hwloc1.11.xml", true},
    {"zenith-2s4n-8xH100-4xCX7-smt2.xml", false},
    {"zenith-1s1n-4xMI250X-nosmt.xml", false},
    {"zenith-2s2n-4xV100-power9-hwloc1.xml", false},
    {"zenith-2s8n-4xGPU-nps4-l3.xml", false},
    {"zenith-2s4n-xeonmax-hbm-flat.xml", false},
};
const size_t golden_ntopologies = sizeof(golden_topologies) / sizeof(golden_topologies[0]);

const char *golden_topology_path(const struct topology_case *tc)
{
    char rel[512];

    snprintf(rel, sizeof(rel), "%s/%s", tc->shared ? "topology" : "tests/fixtures", tc->file);
    return tc->shared ? test_shared_path(rel) : test_src_path(rel);
}
