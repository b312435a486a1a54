/* The studio's device (see studio-device.h). */
#include "studio-device.h"

#include <stdio.h>
#include <string.h>

/* set by the main thread, read by the workers that load models and run evaluations */
static const octic_backend *_Atomic current_device;

const octic_backend *octiscope_device_choose(const char *preference, char *notice, size_t len) {
    if (notice && len) notice[0] = '\0';
    if (preference && strcmp(preference, "cpu") == 0) return octic_cpu_backend();
    if (preference && strcmp(preference, "cuda") == 0) /* the CPU with a notice where CUDA cannot run */
        return octic_backend_for("cuda", OCTIC_FLOAT32, notice, len);
    if (notice && len)
        snprintf(notice, len, "unknown device '%s' in the preferences (expected cpu or cuda); the models run on the CPU",
                 preference ? preference : "(none)");
    return octic_cpu_backend();
}

const octic_backend *octiscope_device_apply(const char *preference, char *notice, size_t len) {
    const octic_backend *be = octiscope_device_choose(preference, notice, len);
    current_device = be;
    return be;
}

const octic_backend *octiscope_device_current(void) {
    const octic_backend *be = current_device;
    return be ? be : octic_cpu_backend();
}

int octiscope_device_cuda_status(char *text, size_t len) {
    char why[256];
    if (octic_cuda_backend_for(OCTIC_FLOAT32, why, sizeof why)) {
        snprintf(text, len, "A CUDA GPU is available");
        return 1;
    }
    snprintf(text, len, "%s: runs on the CPU", why);
    return 0;
}
