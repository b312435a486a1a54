/* Scratch harnesses for the CUDA kernels, in the spirit of llm.c's dev/cuda:
 * each file holds kernel variants of one op (the first the simplest), runs
 * them against the engine's CPU reference (octic_cpu_reference_backend),
 * prints the normalized error of each and times them. The fastest correct
 * variant is the one in kernels/. Run: build/kernels/dev/dev_attention [variant].
 * Needs a GPU; they exit 77 without one, as the tests do. */
#ifndef OCTIC_DEV_COMMON_CUH
#define OCTIC_DEV_COMMON_CUH

#include <chrono>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cuda_internal.cuh"

#define DEV_CHECK(call)                                                                         \
    do {                                                                                        \
        cudaError_t e_ = (call);                                                                \
        if (e_ != cudaSuccess) {                                                                \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

static inline float *dev_random(size_t n, unsigned seed, float scale) {
    float *x = (float *)malloc((n ? n : 1) * sizeof(float));
    unsigned long long s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = scale * (float)((double)(s >> 11) / 4503599627370496.0 - 1.0);
    }
    return x;
}

static inline float *dev_upload(const float *x, size_t n) {
    float *d;
    DEV_CHECK(cudaMalloc(&d, (n ? n : 1) * sizeof(float)));
    DEV_CHECK(cudaMemcpy(d, x, n * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}

/* |got - want| / |want| (Frobenius) of a device result against a host one; prints it. */
static inline double dev_validate(const char *what, const float *dgot, const float *want, size_t n) {
    float *got = (float *)malloc(n * sizeof(float));
    DEV_CHECK(cudaDeviceSynchronize());
    DEV_CHECK(cudaMemcpy(got, dgot, n * sizeof(float), cudaMemcpyDeviceToHost));
    double num = 0, den = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        num += d * d, den += (double)want[i] * want[i];
        double w = fabs(d) / (1.0 + fabs((double)want[i]));
        if (!(w <= worst)) worst = w;
    }
    free(got);
    double rel = sqrt(num) / (sqrt(den) + 1e-30);
    printf("  %-40s relative %.3g, max normalized %.3g\n", what, rel, worst);
    return rel;
}

/* Milliseconds per call of fn(), the best of `reps` after a warm-up. The
 * backend queues on its own non-blocking stream: wait for the whole device. */
template <typename F>
static inline float dev_time_ms(F fn, int reps) {
    fn();
    DEV_CHECK(cudaDeviceSynchronize());
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        DEV_CHECK(cudaDeviceSynchronize());
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (ms < best) best = ms;
    }
    return (float)best;
}

/* The backend's op tables, or exit 77 without a GPU. */
static inline void dev_backends(const octic_backend **f32, const octic_backend **bf16) {
    char why[256];
    *f32 = octic_cuda_backend(why, sizeof why);
    *bf16 = octic_cuda_backend_bf16(why, sizeof why);
    if (!*f32 || !*bf16) {
        printf("SKIP: no usable GPU found: %s\n", why);
        exit(77);
    }
}

#endif
