/* Device selection: the CPU backend or, when this build has it (meson
 * defines OCTIC_WITH_CUDA when kernels/ was built) and a GPU is usable, the
 * CUDA backend of kernels/.
 *
 * The CUDA backend is a module (liboctic_cuda.so) opened the first time a
 * CUDA device is asked for, not a library the programs link: cudart and
 * cuBLAS cost ~200 MB of resident memory and a tenth of a second once
 * loaded, which a run on the CPU should not pay. */
#include "device.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifndef OCTIC_WITH_CUDA
#define OCTIC_WITH_CUDA 0
#endif

int octic_cuda_built(void) { return OCTIC_WITH_CUDA; }

/* The module's entry points (engine/device.h, "implemented by kernels/"). */
static struct {
    const octic_backend *(*backend)(char *err, size_t errlen);
    const octic_backend *(*backend_bf16)(char *err, size_t errlen);
    int (*owns)(const octic_backend *be);
    size_t (*peak_bytes)(const octic_backend *be);
    void (*reset_peak)(const octic_backend *be);
    octic_status (*status)(const octic_backend *be, char *msg, size_t len);
    char why[512]; /* why it could not be opened */
} cuda;
static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;

static void open_cuda_module(void) {
#if OCTIC_WITH_CUDA
    /* no NVIDIA driver, no GPU: said without loading cudart and cuBLAS */
    void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver) {
        snprintf(cuda.why, sizeof cuda.why, "no GPU or no CUDA driver (libcuda.so.1, the NVIDIA driver's library, is not installed)");
        return;
    }
    dlclose(driver);
    /* where the build put it, then where it is installed */
    const char *paths[] = {OCTIC_CUDA_MODULE_BUILT, OCTIC_CUDA_MODULE_INSTALLED};
    void *h = NULL;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0] && !h; i++) {
        h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *e = dlerror();
            if (i == 0 || !cuda.why[0]) snprintf(cuda.why, sizeof cuda.why, "cannot open the CUDA backend: %s", e ? e : paths[i]);
        }
    }
    if (!h) return;
    *(void **)&cuda.backend = dlsym(h, "octic_cuda_backend");
    *(void **)&cuda.backend_bf16 = dlsym(h, "octic_cuda_backend_bf16");
    *(void **)&cuda.owns = dlsym(h, "octic_cuda_owns");
    *(void **)&cuda.peak_bytes = dlsym(h, "octic_cuda_peak_bytes");
    *(void **)&cuda.reset_peak = dlsym(h, "octic_cuda_reset_peak");
    *(void **)&cuda.status = dlsym(h, "octic_cuda_status");
    if (!cuda.backend || !cuda.backend_bf16 || !cuda.owns || !cuda.peak_bytes || !cuda.reset_peak || !cuda.status) {
        snprintf(cuda.why, sizeof cuda.why, "the CUDA backend module lacks an entry point (another version?)");
        cuda.backend = NULL;
        return;
    }
    cuda.why[0] = 0;
#else
    snprintf(cuda.why, sizeof cuda.why, "this build has no CUDA backend (nvcc was not found, or -Dcuda=disabled)");
#endif
}

/* 1 when the module is open (opening it at the first call) */
static int cuda_module(void) {
    pthread_once(&cuda_once, open_cuda_module);
    return cuda.backend != NULL;
}

int octic_backend_is_cuda(const octic_backend *be) {
    /* a CPU backend is told without opening the module; any other was made by it */
    if (!be || be == octic_cpu_backend() || be == octic_cpu_reference_backend()) return 0;
    return cuda_module() && cuda.owns(be);
}

const octic_backend *octic_cuda_backend_for(octic_precision precision, char *why, size_t len) {
    if (!cuda_module()) {
        snprintf(why, len, "%s", cuda.why);
        return NULL;
    }
    return precision == OCTIC_BFLOAT16 ? cuda.backend_bf16(why, len) : cuda.backend(why, len);
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
    if (octic_backend_is_cuda(be)) {
        char why[8];
        return be == cuda.backend_bf16(why, sizeof why) ? "cuda (bfloat16)" : "cuda";
    }
    return be ? be->name : "none";
}

size_t octic_device_peak_bytes(const octic_backend *be) { return octic_backend_is_cuda(be) ? cuda.peak_bytes(be) : 0; }

void octic_device_reset_peak(const octic_backend *be) {
    if (octic_backend_is_cuda(be)) cuda.reset_peak(be);
}

octic_status octic_device_status(const octic_backend *be) {
    if (!octic_backend_is_cuda(be)) return OCTIC_OK;
    char msg[512];
    octic_status st = cuda.status(be, msg, sizeof msg);
    if (st != OCTIC_OK) return octic_fail(st, "%s", msg);
    return OCTIC_OK;
}
