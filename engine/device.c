/* Device selection: the CPU backend or, when this build has it (meson
 * defines OCTIC_WITH_CUDA when kernels/ was built) and a GPU is usable, the
 * CUDA backend of kernels/. */
#include "device.h"

#include <stdio.h>
#include <string.h>

#ifndef OCTIC_WITH_CUDA
#define OCTIC_WITH_CUDA 0
#endif

int octic_cuda_built(void) { return OCTIC_WITH_CUDA; }

int octic_backend_is_cuda(const octic_backend *be) {
#if OCTIC_WITH_CUDA
    return be && octic_cuda_owns(be);
#else
    (void)be;
    return 0;
#endif
}

const octic_backend *octic_cuda_backend_for(octic_precision precision, char *why, size_t len) {
#if OCTIC_WITH_CUDA
    return precision == OCTIC_BFLOAT16 ? octic_cuda_backend_bf16(why, len) : octic_cuda_backend(why, len);
#else
    (void)precision;
    snprintf(why, len, "this build has no CUDA backend (nvcc was not found, or -Dcuda=disabled)");
    return NULL;
#endif
}

const octic_backend *octic_backend_for(const char *device, octic_precision precision, char *notice, size_t len) {
    if (notice && len) notice[0] = 0;
    if (!device || !strcmp(device, "auto")) {
        char why[256];
        const octic_backend *be = octic_cuda_backend_for(precision, why, sizeof why);
        return be ? be : octic_cpu_backend();
    }
    if (!strcmp(device, "cpu")) return octic_cpu_backend();
    if (!strcmp(device, "cuda")) {
        char why[256];
        const octic_backend *be = octic_cuda_backend_for(precision, why, sizeof why);
        if (be) return be;
        if (notice && len) snprintf(notice, len, "CUDA is not available: %s; running on the CPU", why);
        return octic_cpu_backend();
    }
    octic_fail(OCTIC_ERR_ARG, "unknown device '%s': expected auto, cpu or cuda", device);
    return NULL;
}

const char *octic_backend_description(const octic_backend *be) {
#if OCTIC_WITH_CUDA
    char why[8];
    if (be && be == octic_cuda_backend_bf16(why, sizeof why)) return "cuda (bfloat16)";
    if (octic_backend_is_cuda(be)) return "cuda";
#endif
    return be ? be->name : "none";
}

size_t octic_device_peak_bytes(const octic_backend *be) {
#if OCTIC_WITH_CUDA
    return octic_cuda_peak_bytes(be);
#else
    (void)be;
    return 0;
#endif
}

void octic_device_reset_peak(const octic_backend *be) {
#if OCTIC_WITH_CUDA
    octic_cuda_reset_peak(be);
#else
    (void)be;
#endif
}

octic_status octic_device_status(const octic_backend *be) {
#if OCTIC_WITH_CUDA
    char msg[512];
    octic_status st = octic_cuda_status(be, msg, sizeof msg);
    if (st != OCTIC_OK) return octic_fail(st, "%s", msg);
#else
    (void)be;
#endif
    return OCTIC_OK;
}
