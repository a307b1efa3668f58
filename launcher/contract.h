/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_CONTRACT_H
#define ZENITH_LAUNCHER_CONTRACT_H

#include "runtime/env.h"
#include "launcher/world.h"

/* The env:// contract PyTorch's init_process_group (and DeepSpeed, Lightning, Accelerate)
 * read, as torchrun sets it: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK /
 * NODE_RANK, GROUP_WORLD_SIZE, ROLE_*, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_*, plus
 * ZENITH_NCCL_UNIQUE_ID when rank 0 made one. Appended to env. */
int zr_contract_env(const struct zr_world *w, const struct zr_rendezvous *rv, struct zn_env *env,
                    struct zn_error *err);

/* The child's environment: `base` (zenith-run's own) without the variables named in `drop`
 * (NULL-terminated; may be NULL), with each set applied in order. A variable marked user_wins
 * is left as it is when base already has it. NULL when out of memory; free with
 * zr_child_env_free. */
char **zr_child_env(char *const *base, const char *const *drop, const struct zn_env *const *sets,
                    size_t nsets);
void zr_child_env_free(char **envp);

#endif
