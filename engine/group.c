/* D8, the symmetry group of the square. Element g = 4*s + k is m^s r^k. */
#include "group.h"

#include <stdlib.h>
#include <string.h>

const char *const octic_group_names[OCTIC_GROUP_ORDER] = {"e", "r", "rr", "rrr", "m", "mr", "mrr", "mrrr"};

/* m^s1 r^k1 m^s2 r^k2 = m^(s1+s2) r^(k2 + (-1)^s2 k1), since r m = m r^-1. */
int octic_group_mul(int g, int h) {
    int s1 = g / 4, k1 = g % 4, s2 = h / 4, k2 = h % 4;
    int k = (k2 + (s2 ? 4 - k1 : k1)) % 4;
    return 4 * ((s1 + s2) % 2) + k;
}

/* (r^k)^-1 = r^-k; every reflection m r^k is its own inverse. */
int octic_group_inv(int g) { return g < 4 ? (4 - g) % 4 : g; }

int octic_group_parse(const char *name) {
    static const char *const alt[OCTIC_GROUP_ORDER] = {"1", "r1", "r2", "r3", "m", "mr1", "mr2", "mr3"};
    for (int g = 0; g < OCTIC_GROUP_ORDER; g++)
        if (!strcmp(name, octic_group_names[g]) || !strcmp(name, alt[g])) return g;
    return -1;
}

/* Where the cell (i, j) of the output of g comes from in the input, for a
 * side-n square. r = torch.rot90(k=1): out[i][j] = in[j][n-1-i];
 * m = flip(-1): out[i][j] = in[i][n-1-j]; m r^k = "r^k first, then m". */
static void source_cell(int g, int n, int i, int j, int *si, int *sj) {
    if (g >= 4) j = n - 1 - j; /* undo the mirror applied last */
    for (int k = 0; k < g % 4; k++) {
        int t = i;
        i = j;
        j = n - 1 - t;
    }
    *si = i;
    *sj = j;
}

void octic_group_grid_perm(int *src, int g, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int si, sj;
            source_cell(g, n, i, j, &si, &sj);
            src[i * n + j] = si * n + sj;
        }
}

void octic_group_act_image(float *out, const float *in, int g, int C, int S) {
    int *src = malloc((size_t)S * S * sizeof(int));
    if (!src) return;
    octic_group_grid_perm(src, g, S);
    for (int ch = 0; ch < C; ch++) {
        const float *a = in + (size_t)ch * S * S;
        float *b = out + (size_t)ch * S * S;
        for (int i = 0; i < S * S; i++) b[i] = a[src[i]];
    }
    free(src);
}

/* The isotypic action of the generators on (x0..x7) = (A1, A2, B1, B2, E11,
 * E21, E12, E22): r: (x0, x1, -x2, -x3, -x5, x4, -x7, x6),
 * m: (x0, -x1, x2, -x3, -x4, x5, -x6, x7); others by composition. */
void octic_group_isotypic(int g, int src[8], int sign[8]) {
    static const int r_src[8] = {0, 1, 2, 3, 5, 4, 7, 6}, r_sign[8] = {1, 1, -1, -1, -1, 1, -1, 1};
    static const int m_sign[8] = {1, -1, 1, -1, -1, 1, -1, 1};
    for (int j = 0; j < 8; j++) {
        src[j] = j;
        sign[j] = 1;
    }
    /* apply r k times, then m if s: (A.x)_j = sign_A[j] x_{src_A[j]} composed */
    for (int k = 0; k < g % 4; k++) {
        int ns[8], nsg[8];
        for (int j = 0; j < 8; j++) {
            ns[j] = src[r_src[j]];
            nsg[j] = r_sign[j] * sign[r_src[j]];
        }
        memcpy(src, ns, sizeof ns);
        memcpy(sign, nsg, sizeof nsg);
    }
    if (g >= 4)
        for (int j = 0; j < 8; j++) sign[j] *= m_sign[j];
}

void octic_group_act_tokens(float *out, const float *in, int g, int B, int T, int t0, int n, int C, int octic) {
    int *cell = malloc((size_t)n * n * sizeof(int));
    if (!cell) return;
    octic_group_grid_perm(cell, g, n);
    int src[8], sign[8];
    octic_group_isotypic(g, src, sign);
    int c = C / 8;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int from = t < t0 ? t : t0 + cell[t - t0];
            const float *x = in + ((size_t)b * T + from) * C;
            float *y = out + ((size_t)b * T + t) * C;
            if (!octic) {
                memcpy(y, x, (size_t)C * sizeof(float));
                continue;
            }
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < c; i++) y[j * c + i] = (float)sign[j] * x[src[j] * c + i];
        }
    free(cell);
}
