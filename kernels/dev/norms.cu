/* LayerNorm-D8 (with the fused residual) variants on iso5 rows (rows, C):
 *   1: one thread per row, serial over the row (the CPU reference's loops);
 *   2: kernels/norm.cu: one warp per row, two passes from L1.
 * usage: dev_norms [rows C] (default 12608 1024: ViT-L/16, batch 64) */
#include "common.cuh"

// out, x: (rows, C) iso5; x += gamma * y first
__global__ void naive_residual_layernorm_d8(float *x, const float *y, const float *gamma, float *out,
                                            const float *scale, const float *shift, int rows, int C, float eps) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    float *xr = x + (size_t)r * C, *o = out + (size_t)r * C;
    const float *yr = y + (size_t)r * C;
    for (int i = 0; i < C; i++) xr[i] += gamma[i] * yr[i];
    int c = C / 8, start[6] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c}, len[6] = {c, c, c, c, 2 * c, 2 * c};
    float mean[6], total = 0.0f;
    for (int s = 0; s < 6; s++) {
        float m = 0.0f, v = 0.0f;
        for (int i = 0; i < len[s]; i++) m += xr[start[s] + i];
        m /= len[s];
        for (int i = 0; i < len[s]; i++) v += (xr[start[s] + i] - m) * (xr[start[s] + i] - m);
        mean[s] = m;
        total += (s < 4 ? 1.0f : 0.5f) * v / len[s];
    }
    float std = 0.35355339059327376220f * sqrtf(total + eps);
    for (int s = 0; s < 6; s++)
        for (int i = start[s]; i < start[s] + len[s]; i++) o[i] = (xr[i] - mean[s]) / std * scale[i] + shift[i];
}

int main(int argc, char **argv) {
    int rows = 12608, C = 1024;
    if (argc == 3) rows = atoi(argv[1]), C = atoi(argv[2]);
    const octic_backend *f32, *bf16, *ref = octic_cpu_reference_backend();
    dev_backends(&f32, &bf16);
    size_t n = (size_t)rows * C;
    float *x = dev_random(n, 1, 3.0f), *y = dev_random(n, 2, 1.0f), *g = dev_random(C, 3, 0.2f);
    float *sc = dev_random(C, 4, 1.0f), *sh = dev_random(C, 5, 0.5f), *want = (float *)malloc(n * sizeof(float));
    float *xw = (float *)malloc(n * sizeof(float));
    memcpy(xw, x, n * sizeof(float));
    printf("residual_layernorm_d8 rows %d, C %d\n", rows, C);
    ref->residual_layernorm_d8(ref, xw, y, g, want, sc, sh, rows, C, 1e-5f);
    float *dx = dev_upload(x, n), *dy = dev_upload(y, n), *dg = dev_upload(g, C), *dsc = dev_upload(sc, C);
    float *dsh = dev_upload(sh, C), *dout;
    DEV_CHECK(cudaMalloc(&dout, n * sizeof(float)));
    double bytes = 4.0 * 4 * n; /* read x, y; write x, out */
    auto naive = [&] {
        naive_residual_layernorm_d8<<<cuda_blocks(rows, 128), 128>>>(dx, dy, dg, dout, dsc, dsh, rows, C, 1e-5f);
    };
    auto warp = [&] { f32->residual_layernorm_d8(f32, dx, dy, dg, dout, dsc, dsh, rows, C, 1e-5f); };
    /* validate on a fresh x (the op adds into x), then time */
    naive();
    dev_validate("1 one thread per row", dout, want, n);
    printf("  %-40s %.3f ms, %.0f GB/s\n", "", dev_time_ms(naive, 10), bytes / dev_time_ms(naive, 10) / 1e6);
    DEV_CHECK(cudaMemcpy(dx, x, n * sizeof(float), cudaMemcpyHostToDevice));
    DEV_CHECK(cudaDeviceSynchronize()); /* the backend's stream does not wait for cudaMemcpy's */
    warp();
    dev_validate("2 one warp per row", dout, want, n);
    printf("  %-40s %.3f ms, %.0f GB/s\n", "", dev_time_ms(warp, 10), bytes / dev_time_ms(warp, 10) / 1e6);
    return 0;
}
