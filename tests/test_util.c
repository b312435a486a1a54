#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *golden_path(char *buf, size_t len, const char *name, const char *file) {
    const char *dir = getenv("OCTIC_GOLDEN_DIR");
    snprintf(buf, len, "%s/%s/%s", dir ? dir : "tests/golden", name, file);
    return buf;
}

int golden_int(const char *name, const char *field) {
    char path[1024], key[128];
    golden_path(path, sizeof path, name, "case.json");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    snprintf(key, sizeof key, "\"%s\":", field);
    const char *p = strstr(text, key);
    if (!p) return -1;
    p += strlen(key);
    while (*p == ' ') p++;
    if (!strncmp(p, "null", 4) || !strncmp(p, "false", 5)) return -1;
    if (!strncmp(p, "true", 4)) return 1;
    return atoi(p);
}

void golden_npy(const char *name, const char *file, octic_array *out) {
    char path[1024];
    golden_path(path, sizeof path, name, file);
    octic_status st = octic_npy_load(path, out);
    ck_assert_msg(st == OCTIC_OK, "%s: %s", path, octic_last_error());
}

float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as a failure */
    }
    return m;
}

double rel_error(const float *a, const float *b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-30);
}

void fill_random(float *x, size_t n, unsigned seed, float scale) {
    unsigned long long s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        /* sum of two uniforms: a tent distribution, enough for tests */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u1 = (double)(s >> 11) / 9007199254740992.0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        x[i] = (float)(scale * (u1 + u2 - 1.0));
    }
}

float *randv(size_t n, unsigned seed, float scale) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(x);
    fill_random(x, n, seed, scale);
    return x;
}

unsigned random_pick(unsigned *state, unsigned n) {
    *state = *state * 1103515245u + 12345u;
    return (*state >> 8) % n;
}

int32_t *random_perm(int n, unsigned seed) {
    int32_t *p = malloc((size_t)n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < n; i++) p[i] = i;
    unsigned s = seed;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)random_pick(&s, (unsigned)(i + 1));
        int32_t t = p[i];
        p[i] = p[j], p[j] = t;
    }
    return p;
}
