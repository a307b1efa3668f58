/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_GOLDEN_TOPOLOGIES_H
#define ZENITH_GOLDEN_TOPOLOGIES_H

#include <stdbool.h>
#include <stddef.h>

/* The topologies every plan test runs on: real machines' exports from ../shared/fixtures
 * (skipped when absent) and Zenith's own in tests/fixtures (always there). */
struct topology_case {
    const char *file;
    bool shared; /* under ../shared/fixtures/topology, else tests/fixtures */
};

extern const struct topology_case golden_topologies[];
extern const size_t golden_ntopologies;

/* The file's path, or NULL when it is a shared fixture and ../shared is absent. */
const char *golden_topology_path(const struct topology_case *tc);

#endif
