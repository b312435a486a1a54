/* A small helper for the command-line tests (no Python in the test path):
 *
 *   npy_tool maxdiff A.npy B.npy LIMIT   prints the max |A - B|; exit 1 when it
 *                                        is above LIMIT or the shapes differ
 *   npy_tool zeros OUT.npy D0 [D1 ...]   writes float32 zeros of that shape
 *   npy_tool float64 OUT.npy D0 [D1 ...] writes float64 zeros (an input the
 *                                        engine must refuse)
 *   npy_tool drop IN OUT.safetensors NAME
 *                                        writes checkpoint IN without tensor NAME
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

static int usage(void) {
    fprintf(stderr, "usage: npy_tool maxdiff A.npy B.npy LIMIT | zeros OUT.npy D0 [D1 ...] | "
                    "float64 OUT.npy D0 [D1 ...] | drop IN OUT.safetensors NAME\n");
    return 2;
}

static int parse_shape(int argc, char **argv, int64_t *shape, int *ndim) {
    if (argc < 1 || argc > OCTIC_MAX_DIMS)
        return 0;
    for (int i = 0; i < argc; i++) {
        char *end = NULL;
        long long v = strtoll(argv[i], &end, 10);
        if (end == argv[i] || *end || v < 0)
            return 0;
        shape[i] = v;
    }
    *ndim = argc;
    return 1;
}

static int maxdiff(const char *a_path, const char *b_path, const char *limit_text) {
    octic_array a, b;
    double limit = atof(limit_text);
    if (octic_npy_load(a_path, &a) != OCTIC_OK) {
        fprintf(stderr, "npy_tool: %s\n", octic_last_error());
        return 2;
    }
    if (octic_npy_load(b_path, &b) != OCTIC_OK) {
        fprintf(stderr, "npy_tool: %s\n", octic_last_error());
        octic_array_free(&a);
        return 2;
    }
    char sa[128], sb[128];
    octic_shape_str(sa, sizeof sa, a.shape, a.ndim);
    octic_shape_str(sb, sizeof sb, b.shape, b.ndim);
    int rc = 0;
    if (strcmp(sa, sb) != 0) {
        printf("shapes differ: %s %s, %s %s\n", a_path, sa, b_path, sb);
        rc = 1;
    } else {
        int64_t n = octic_numel(a.shape, a.ndim);
        double worst = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)a.data[i] - (double)b.data[i]);
            if (!(d <= worst)) /* also catches NaN */
                worst = d;
        }
        printf("max abs diff %.3g over %s\n", worst, sa);
        rc = (worst <= limit) ? 0 : 1;
    }
    octic_array_free(&a);
    octic_array_free(&b);
    return rc;
}

static int write_zeros(const char *path, int argc, char **argv) {
    int64_t shape[OCTIC_MAX_DIMS];
    int ndim = 0;
    if (!parse_shape(argc, argv, shape, &ndim))
        return usage();
    float *data = calloc((size_t)octic_numel(shape, ndim) + 1, sizeof(float));
    if (!data)
        return 2;
    octic_status st = octic_npy_save(path, data, ndim, shape);
    free(data);
    if (st != OCTIC_OK) {
        fprintf(stderr, "npy_tool: %s\n", octic_last_error());
        return 2;
    }
    return 0;
}

/* A version 1.0 .npy of little-endian float64 zeros. */
static int write_float64(const char *path, int argc, char **argv) {
    int64_t shape[OCTIC_MAX_DIMS];
    int ndim = 0;
    if (!parse_shape(argc, argv, shape, &ndim))
        return usage();
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - len, "%lld,%s", (long long)shape[i],
                        i + 1 < ndim ? " " : "");
    len += snprintf(dict + len, sizeof dict - len, "), }");
    /* magic (6) + version (2) + length (2) + dict + padding + '\n' is a multiple of 64 */
    int header = 10 + len + 1;
    int pad = (64 - header % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return 2;
    unsigned short hlen = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    double zero = 0.0;
    for (int64_t i = 0; i < octic_numel(shape, ndim); i++)
        fwrite(&zero, sizeof zero, 1, f);
    return fclose(f) == 0 ? 0 : 2;
}

/* A checkpoint lacking one tensor (the tensors keep their order). */
static int drop_tensor(const char *in, const char *out, const char *name) {
    octic_tensor_set set;
    octic_tensor_set_init(&set);
    if (octic_checkpoint_load(in, &set) != OCTIC_OK) {
        fprintf(stderr, "npy_tool: %s\n", octic_last_error());
        return 2;
    }
    int found = 0;
    for (int i = 0; i < set.count; i++) {
        if (strcmp(set.tensors[i].name, name) != 0) continue;
        octic_tensor gone = set.tensors[i];
        memmove(&set.tensors[i], &set.tensors[i + 1], (size_t)(set.count - i - 1) * sizeof gone);
        set.tensors[--set.count] = gone; /* past the end: freed with the set, never written */
        found = 1;
        break;
    }
    octic_status st = found ? octic_safetensors_save(out, &set) : OCTIC_ERR_ARG;
    if (st != OCTIC_OK) fprintf(stderr, "npy_tool: %s\n", found ? octic_last_error() : "no such tensor");
    set.count += found;
    octic_tensor_set_free(&set);
    return st == OCTIC_OK ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc >= 5 && strcmp(argv[1], "maxdiff") == 0)
        return maxdiff(argv[2], argv[3], argv[4]);
    if (argc >= 4 && strcmp(argv[1], "zeros") == 0)
        return write_zeros(argv[2], argc - 3, argv + 3);
    if (argc >= 4 && strcmp(argv[1], "float64") == 0)
        return write_float64(argv[2], argc - 3, argv + 3);
    if (argc == 5 && strcmp(argv[1], "drop") == 0)
        return drop_tensor(argv[2], argv[3], argv[4]);
    return usage();
}
