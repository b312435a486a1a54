/* LinearD8 variants (in (M, 8ci) iso5 -> out (M, 8co) iso5):
 *   1: six serial cublasSgemm calls (A1, A2, B1, B2, E row 0, E row 1);
 *   2: kernels/gemm.cu float32: one pointer-array batch for the four 1-d
 *      irreps, one strided batch (shared weight) for the two E rows;
 *   3: the same in bfloat16 (tensor cores, float32 accumulation).
 * usage: dev_linear_d8 [M ci co] (default 12608 128 384: ViT-L/16 qkv, batch 64) */
#include "common.cuh"

int main(int argc, char **argv) {
    int M = 12608, ci = 128, co = 384;
    if (argc == 4) M = atoi(argv[1]), ci = atoi(argv[2]), co = atoi(argv[3]);
    const octic_backend *f32, *bf16, *ref = octic_cpu_reference_backend();
    dev_backends(&f32, &bf16);
    size_t nin = (size_t)M * 8 * ci, nout = (size_t)M * 8 * co;
    float *x = dev_random(nin, 1, 1.0f), *bias = dev_random(co, 2, 1.0f), *want = (float *)malloc(nout * sizeof(float));
    float *w[5], *dw[5];
    for (int q = 0; q < 5; q++) {
        size_t n = (size_t)(q < 4 ? 1 : 4) * ci * co;
        w[q] = dev_random(n, 3 + q, 1.0f / sqrtf((float)ci));
        dw[q] = dev_upload(w[q], n);
    }
    const float *const wc[5] = {w[0], w[1], w[2], w[3], w[4]}, *const dwc[5] = {dw[0], dw[1], dw[2], dw[3], dw[4]};
    printf("linear_d8 M %d, in %d, out %d\n", M, 8 * ci, 8 * co);
    ref->linear_d8(ref, want, x, wc, bias, M, ci, co);
    float *dx = dev_upload(x, nin), *db = dev_upload(bias, co), *dout;
    DEV_CHECK(cudaMalloc(&dout, nout * sizeof(float)));
    cublasHandle_t h;
    cublasCreate(&h);
    double flops = 2.0 * M * 12.0 * ci * co;
    auto serial = [&] {
        const float one = 1.0f, zero = 0.0f;
        for (int q = 0; q < 4; q++) {
            cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, co, M, ci, &one, dw[q], ci, dx + q * ci, 8 * ci, &zero,
                        dout + q * co, 8 * co);
        }
        for (int r = 0; r < 2; r++)
            cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 2 * co, M, 2 * ci, &one, dw[4], 2 * ci, dx + (4 + 2 * r) * ci,
                        8 * ci, &zero, dout + (4 + 2 * r) * co, 8 * co);
    };
    auto batched32 = [&] { f32->linear_d8(f32, dout, dx, dwc, db, M, ci, co); };
    auto batched16 = [&] { bf16->linear_d8(bf16, dout, dx, dwc, db, M, ci, co); };
    float *want_nobias = (float *)malloc(nout * sizeof(float));
    ref->linear_d8(ref, want_nobias, x, wc, NULL, M, ci, co);
    float ms = dev_time_ms(serial, 10);
    dev_validate("1 six serial sgemm (no bias)", dout, want_nobias, nout);
    printf("  %-40s %.3f ms, %.1f TFLOP/s\n", "", ms, flops / ms / 1e9);
    ms = dev_time_ms(batched32, 10);
    dev_validate("2 two batched calls, float32", dout, want, nout);
    printf("  %-40s %.3f ms, %.1f TFLOP/s\n", "", ms, flops / ms / 1e9);
    ms = dev_time_ms(batched16, 10);
    dev_validate("3 two batched calls, bfloat16", dout, want, nout);
    printf("  %-40s %.3f ms, %.1f TFLOP/s\n", "", ms, flops / ms / 1e9);
    cublasDestroy(h);
    return 0;
}
