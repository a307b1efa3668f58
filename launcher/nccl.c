/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dlfcn.h>
#include <stdlib.h>

#include "launcher/nccl.h"

const struct zr_nccl_module *zr_nccl_load(struct zn_error *err)
{
#ifdef ZR_NCCL_MODULE_PATH
    static const struct zr_nccl_module *module;
    const char *path = getenv("ZENITH_NCCL_MODULE");
    void *handle;

    if (module)
        return module;
    if (!path || !*path)
        path = ZR_NCCL_MODULE_PATH;
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        zn_fail(err, "cannot load %s: %s", path, dlerror());
        return NULL;
    }
    module = dlsym(handle, ZR_NCCL_MODULE_SYMBOL);
    if (!module)
        zn_fail(err, "%s is not zenith-run's NCCL module (no %s)", path, ZR_NCCL_MODULE_SYMBOL);
    return module;
#else
    zn_fail(err, "zenith-run was built without NCCL (configure found no CUDA/NCCL)");
    return NULL;
#endif
}
