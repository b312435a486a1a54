/* Patch labels, standardization and segmentation scores (see segment.h). */
#include "segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int octic_label_mode(const uint8_t *labels, int n) {
    int count[256] = {0};
    for (int i = 0; i < n; i++) count[labels[i]]++;
    int best = 0;
    for (int v = 1; v < 256; v++)
        if (count[v] > count[best]) best = v;
    return best;
}

void octic_patch_pixels(const uint8_t *mask, int S, int p, uint8_t *out) {
    const int n = S / p;
    for (int py = 0; py < n; py++)
        for (int px = 0; px < n; px++) {
            uint8_t *dst = out + ((size_t)py * n + px) * p * p;
            for (int y = 0; y < p; y++)
                memcpy(dst + y * p, mask + (size_t)(py * p + y) * S + px * p, (size_t)p);
        }
}

void octic_confusion_add(int64_t *confusion, const uint8_t *gt, const uint8_t *pred, int64_t n,
                         const octic_label_set *ignore) {
    for (int64_t i = 0; i < n; i++)
        if (!ignore->ignored[gt[i]]) confusion[gt[i] * 256 + pred[i]]++;
}

void octic_seg_score(const int64_t *confusion, octic_seg_scores *out) {
    memset(out, 0, sizeof *out);
    int64_t rows[256] = {0}, cols[256] = {0}, correct = 0;
    for (int g = 0; g < 256; g++)
        for (int p = 0; p < 256; p++) {
            int64_t c = confusion[g * 256 + p];
            rows[g] += c;
            cols[p] += c;
            out->pixels += c;
            if (g == p) correct += c;
        }
    double sum = 0.0;
    for (int c = 0; c < 256; c++) {
        if (rows[c] == 0 && cols[c] == 0) continue;
        int64_t tp = confusion[c * 256 + c];
        out->present[c] = 1;
        out->iou[c] = (double)tp / (double)(rows[c] + cols[c] - tp);
        sum += out->iou[c];
        out->n_present++;
    }
    out->miou = out->n_present ? sum / out->n_present : 0.0;
    out->pixel_accuracy = out->pixels ? (double)correct / (double)out->pixels : 0.0;
}

octic_status octic_standardize_fit(const float *x, int64_t n, int d, float *mean, float *scale) {
    if (n <= 0) return octic_fail(OCTIC_ERR_ARG, "standardization: no training features");
    double *s = calloc((size_t)d * 2, sizeof(double));
    if (!s) return octic_fail(OCTIC_ERR_NOMEM, "standardization: out of memory");
    double *mu = s, *m2 = s + d;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[j] += x[i * d + j];
    for (int j = 0; j < d; j++) mu[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double v = x[i * d + j] - mu[j];
            m2[j] += v * v;
        }
    for (int j = 0; j < d; j++) {
        double sd = sqrt(m2[j] / (double)n);
        mean[j] = (float)mu[j];
        /* a constant feature keeps its scale, as in scikit-learn */
        scale[j] = sd == 0.0 ? 1.0f : (float)sd;
    }
    free(s);
    return OCTIC_OK;
}

void octic_standardize_apply(float *x, int64_t n, int d, const float *mean, const float *scale) {
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) x[i * d + j] = (x[i * d + j] - mean[j]) / scale[j];
}
