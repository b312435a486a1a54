/* Attention variants at ViT shapes (qkv (B*N, 3*H*hd) -> out (B*N, H*hd)):
 *   1: naive: the scores (B, H, N, N) in global memory, a softmax kernel, the
 *      product with v (what the flash kernels avoid: B*H*N*N floats);
 *   2: kernels/attention.cu float32 (flash-style, CUDA cores);
 *   3: kernels/attention.cu bfloat16 (flash-style, WMMA tensor cores).
 * usage: dev_attention [B N H hd] (default 64 197 16 64, ViT-L/16 at 224) */
#include "common.cuh"

// scores: (B, H, N, N) = q k^T * scale
__global__ void naive_scores(float *scores, const float *qkv, int B, int N, int H, int hd, float scale) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)B * H * N * N) return;
    int j = (int)(k % N), i = (int)(k / N % N), h = (int)(k / ((size_t)N * N) % H), b = (int)(k / ((size_t)N * N * H));
    const float *q = qkv + ((size_t)b * N + i) * 3 * H * hd + (size_t)h * hd;
    const float *kk = qkv + ((size_t)b * N + j) * 3 * H * hd + (size_t)(H + h) * hd;
    float s = 0.0f;
    for (int t = 0; t < hd; t++) s += q[t] * kk[t];
    scores[k] = s * scale;
}

// one thread per score row: softmax in place
__global__ void naive_softmax(float *scores, size_t rows, int N) {
    size_t r = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    float *x = scores + r * N, mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j < N; j++) mx = fmaxf(mx, x[j]);
    for (int j = 0; j < N; j++) sum += x[j] = expf(x[j] - mx);
    for (int j = 0; j < N; j++) x[j] /= sum;
}

// out (B*N, H*hd) = P v per head
__global__ void naive_pv(float *out, const float *scores, const float *qkv, int B, int N, int H, int hd) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)B * N * H * hd) return;
    int t = (int)(k % hd), h = (int)(k / hd % H), i = (int)(k / ((size_t)hd * H) % N), b = (int)(k / ((size_t)hd * H * N));
    const float *p = scores + (((size_t)b * H + h) * N + i) * N;
    float acc = 0.0f;
    for (int j = 0; j < N; j++) acc += p[j] * qkv[((size_t)b * N + j) * 3 * H * hd + (size_t)(2 * H + h) * hd + t];
    out[k] = acc;
}

int main(int argc, char **argv) {
    int B = 64, N = 197, H = 16, hd = 64;
    if (argc == 5) B = atoi(argv[1]), N = atoi(argv[2]), H = atoi(argv[3]), hd = atoi(argv[4]);
    const octic_backend *f32, *bf16, *ref = octic_cpu_reference_backend();
    dev_backends(&f32, &bf16);
    int C = H * hd;
    size_t nq = (size_t)B * N * 3 * C, no = (size_t)B * N * C;
    float *qkv = dev_random(nq, 1, 2.0f), *want = (float *)malloc(no * sizeof(float));
    float *scratch = (float *)malloc(ref->attention_scratch(ref, B, N, H, hd) * sizeof(float));
    printf("attention B %d, N %d, H %d, hd %d\n", B, N, H, hd);
    ref->attention(ref, want, qkv, NULL, NULL, scratch, B, N, H, hd);
    float *dq = dev_upload(qkv, nq), *dout, *dscores;
    DEV_CHECK(cudaMalloc(&dout, no * sizeof(float)));
    DEV_CHECK(cudaMalloc(&dscores, (size_t)B * H * N * N * sizeof(float)));
    float scale = 1.0f / sqrtf((float)hd);
    double flops = 4.0 * B * H * (double)N * N * hd;
    auto naive = [&] {
        size_t ns = (size_t)B * H * N * N;
        naive_scores<<<cuda_blocks(ns, 256), 256>>>(dscores, dq, B, N, H, hd, scale);
        naive_softmax<<<cuda_blocks((size_t)B * H * N, 256), 256>>>(dscores, (size_t)B * H * N, N);
        naive_pv<<<cuda_blocks(no, 256), 256>>>(dout, dscores, dq, B, N, H, hd);
    };
    auto flash32 = [&] { f32->attention(f32, dout, dq, NULL, NULL, NULL, B, N, H, hd); };
    auto flash16 = [&] { bf16->attention(bf16, dout, dq, NULL, NULL, NULL, B, N, H, hd); };
    struct { const char *name; int id; } variants[] = {{"1 naive (scores in global memory)", 1},
                                                     {"2 flash float32", 2}, {"3 flash bfloat16 (WMMA)", 3}};
    for (auto &v : variants) {
        float ms;
        if (v.id == 1) naive(), ms = dev_time_ms(naive, 10);
        else if (v.id == 2) flash32(), ms = dev_time_ms(flash32, 10);
        else flash16(), ms = dev_time_ms(flash16, 10);
        dev_validate(v.name, dout, want, no);
        printf("  %-40s %.3f ms, %.1f TFLOP/s\n", "", ms, flops / ms / 1e9);
    }
    DEV_CHECK(cudaFree(dq));
    DEV_CHECK(cudaFree(dout));
    DEV_CHECK(cudaFree(dscores));
    free(qkv), free(want), free(scratch);
    return 0;
}
