/* Device selection (engine/device.c) and the CUDA backend module it opens:
 * CPU choices never load the module (cudart and cuBLAS stay out of a CPU
 * run), the module built by kernels/ opens and has its entry points, and a
 * request for CUDA that cannot be met falls back to the CPU with a reason.
 * Runs with or without a GPU and with or without a CUDA build. */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "device.h"
#include "error.h"

#ifndef OCTIC_WITH_CUDA
#define OCTIC_WITH_CUDA 0
#endif

/* 1 when the module is loaded in this process (without loading it) */
static int module_loaded(void) {
#if OCTIC_WITH_CUDA
    void *h = dlopen(OCTIC_CUDA_MODULE_BUILT, RTLD_LAZY | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != NULL;
#else
    return 0;
#endif
}

/* 1 when the NVIDIA driver's library is installed */
static int driver_installed(void) {
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (h) dlclose(h);
    return h != NULL;
}

START_TEST(test_cpu_choices_leave_the_module_closed) {
    char notice[256];
    ck_assert_ptr_eq(octic_backend_for("cpu", OCTIC_FLOAT32, notice, sizeof notice), octic_cpu_backend());
    ck_assert_str_eq(notice, "");
    ck_assert_int_eq(octic_backend_is_cuda(octic_cpu_backend()), 0);
    ck_assert_int_eq(octic_backend_is_cuda(octic_cpu_reference_backend()), 0);
    ck_assert_int_eq(octic_device_status(octic_cpu_backend()), OCTIC_OK);
    ck_assert_uint_eq(octic_device_peak_bytes(octic_cpu_backend()), 0);
    ck_assert_str_eq(octic_backend_description(octic_cpu_backend()), octic_cpu_backend()->name);
    ck_assert_msg(!module_loaded(), "the CUDA module was loaded by a CPU-only choice");
    ck_assert_ptr_null(octic_backend_for("tpu", OCTIC_FLOAT32, notice, sizeof notice));
    ck_assert_ptr_nonnull(strstr(octic_last_error(), "unknown device 'tpu'"));
}
END_TEST

START_TEST(test_cuda_request) {
    char notice[256], why[256];
    const octic_backend *be = octic_backend_for("cuda", OCTIC_FLOAT32, notice, sizeof notice);
    ck_assert_ptr_nonnull(be);
    const octic_backend *direct = octic_cuda_backend_for(OCTIC_FLOAT32, why, sizeof why);
    if (direct) { /* a usable GPU: the CUDA backend, no notice */
        ck_assert_ptr_eq(be, direct);
        ck_assert_int_eq(octic_backend_is_cuda(be), 1);
        ck_assert_str_eq(notice, "");
        ck_assert_str_eq(octic_backend_description(be), "cuda");
        return;
    }
    /* none: the CPU, and a notice with the reason */
    ck_assert_ptr_eq(be, octic_cpu_backend());
    ck_assert_msg(strncmp(notice, "CUDA is not available: ", 23) == 0, "notice: %s", notice);
    ck_assert_msg(strstr(notice, why) != NULL, "notice '%s' does not give the reason '%s'", notice, why);
    ck_assert_msg(strstr(notice, "running on the CPU") != NULL, "notice: %s", notice);
    if (!OCTIC_WITH_CUDA) {
        ck_assert_ptr_nonnull(strstr(why, "no CUDA backend"));
    } else if (!driver_installed()) {
        /* no driver: said without loading cudart and cuBLAS */
        ck_assert_ptr_nonnull(strstr(why, "libcuda.so.1"));
        ck_assert_msg(!module_loaded(), "the CUDA module was loaded on a machine without the NVIDIA driver");
    }
}
END_TEST

START_TEST(test_module_entry_points) {
#if OCTIC_WITH_CUDA
    /* the module kernels/ built opens (cudart and cuBLAS found) and has
     * every entry point device.c looks up; asked directly for a backend it
     * gives one or says why not */
    /* RTLD_NODELETE: the module stays loaded after dlclose, as the engine keeps it
     * (unloading it would unload the C++ runtime it brings in, whose exception
     * buffer LeakSanitizer then reports as a leak) */
    void *h = dlopen(OCTIC_CUDA_MODULE_BUILT, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    ck_assert_msg(h != NULL, "%s: %s", OCTIC_CUDA_MODULE_BUILT, dlerror());
    const char *names[] = {"octic_cuda_backend", "octic_cuda_backend_bf16", "octic_cuda_owns",
                           "octic_cuda_peak_bytes", "octic_cuda_reset_peak", "octic_cuda_status"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(dlsym(h, names[i]) != NULL, "the module has no %s", names[i]);
    const octic_backend *(*make)(char *, size_t);
    *(void **)&make = dlsym(h, "octic_cuda_backend");
    char why[256] = "";
    const octic_backend *be = make(why, sizeof why);
    if (!be) ck_assert_msg(why[0] != 0, "no backend and no reason");
    dlclose(h);
#else
    ck_assert_int_eq(octic_cuda_built(), 0);
#endif
}
END_TEST

int main(void) {
    Suite *s = suite_create("device");
    TCase *tc = tcase_create("selection");
    /* in this order, in one process: the first asserts nothing loaded the module yet */
    tcase_add_test(tc, test_cpu_choices_leave_the_module_closed);
    tcase_add_test(tc, test_cuda_request);
    tcase_add_test(tc, test_module_entry_points);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
