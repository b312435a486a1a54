/* Feature extraction with a resumable on-disk cache (see extract.h). */
#include "extract.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "fileio.h"
#include "octic-config.h"
#include "segment.h"

#define STALE_TEMPORARY_S 3600 /* see remove_stale_temporaries */

#define CHUNK_MAGIC "OCTFEAT1"

void octic_eval_test_pause(void) {
    const char *ms = getenv("OCTIC_EVAL_PAUSE_MS");
    if (!ms || !*ms) return;
    long v = strtol(ms, NULL, 10);
    if (v <= 0 || v > 60000) return;
    struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

octic_status octic_feature_cache_default(char *buf, size_t len) {
    const char *xdg = getenv("XDG_CACHE_HOME");
    int n;
    if (xdg && xdg[0] == '/') {
        n = snprintf(buf, len, "%s/octiscope/features", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || !home[0])
            return octic_fail(OCTIC_ERR_ARG, "neither XDG_CACHE_HOME nor HOME is set; pass --cache DIR");
        n = snprintf(buf, len, "%s/.cache/octiscope/features", home);
    }
    return n > 0 && (size_t)n < len ? OCTIC_OK : octic_fail(OCTIC_ERR_ARG, "feature cache path too long");
}

static octic_status mkdirs(const char *path) {
    char dir[PATH_MAX];
    if (strlen(path) >= sizeof dir) return octic_fail(OCTIC_ERR_ARG, "%s: path too long", path);
    strcpy(dir, path);
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return octic_fail(OCTIC_ERR_IO, "feature cache: cannot create %s: %s", dir, strerror(errno));
        *p = c;
        if (c == '\0') break;
    }
    return OCTIC_OK;
}

/* ---- the model's outputs as records ------------------------------------------ */

int octic_features_blocks(const octic_model *m) {
    int depth = octic_model_config(m)->depth;
    return depth < 4 ? depth : 4;
}

typedef struct {
    int first;          /* block index (on_block numbering) of the first kept block */
    int nb, C, T;
    float *cls;         /* [B, nb, C] prenorm class tokens */
} cls_capture;

static void capture_cls(void *user, int index, const float *tokens, int B, int T, int C) {
    cls_capture *c = user;
    int slot = index - c->first;
    if (index < 0 || slot < 0 || slot >= c->nb) return;
    for (int b = 0; b < B; b++) memcpy(c->cls + ((size_t)b * c->nb + slot) * C, tokens + (size_t)b * T * C, C * sizeof(float));
}

static void layernorm_row(float *out, const float *x, const float *w, const float *bias, int C) {
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < C; i++) mean += x[i];
    mean /= C;
    for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= C;
    double inv = 1.0 / sqrt(var + 1e-6);
    for (int i = 0; i < C; i++) out[i] = (float)((x[i] - mean) * inv) * w[i] + bias[i];
}

octic_status octic_forward_records(octic_model *m, const float *images, int B, int S, float *records,
                                   float *patch) {
    const octic_config *cfg = octic_model_config(m);
    const int C = cfg->dim, nb = octic_features_blocks(m);
    const int N = (S / cfg->patch) * (S / cfg->patch);
    octic_outputs out;
    memset(&out, 0, sizeof out);
    float *cls = NULL, *own_patch = NULL, *prenorm_cls = NULL;
    cls_capture cap = {cfg->depth - nb + 1, nb, C, 0, NULL};
    octic_status st = OCTIC_OK;
    if (patch) {
        out.patch = patch;
    } else {
        cls = malloc((size_t)B * C * sizeof(float));
        own_patch = malloc((size_t)B * N * C * sizeof(float));
        prenorm_cls = malloc((size_t)B * nb * C * sizeof(float));
        if (!cls || !own_patch || !prenorm_cls) {
            st = octic_fail(OCTIC_ERR_NOMEM, "features: out of memory for a batch of %d", B);
            goto done;
        }
        cap.cls = prenorm_cls;
        out.cls = cls;
        out.patch = own_patch;
        out.on_block = capture_cls;
        out.user = &cap;
    }
    if ((st = octic_model_forward(m, images, B, S, &out)) != OCTIC_OK) goto done;
    if (patch) goto done;
    /* the final norm's weights, to norm the earlier blocks' class tokens */
    octic_tensor_set set;
    if ((st = octic_model_export(m, &set)) != OCTIC_OK) goto done;
    const octic_tensor *nw = octic_tensor_set_find(&set, "norm.weight"), *nbias = octic_tensor_set_find(&set, "norm.bias");
    if (!nw || !nbias) {
        octic_tensor_set_free(&set);
        st = octic_fail(OCTIC_ERR_MISSING, "features: the model has no final norm");
        goto done;
    }
    const int rec = (nb + 1) * C;
    for (int b = 0; b < B; b++) {
        float *r = records + (size_t)b * rec;
        for (int s = 0; s < nb - 1; s++)
            layernorm_row(r + (size_t)s * C, prenorm_cls + ((size_t)b * nb + s) * C, nw->data, nbias->data, C);
        memcpy(r + (size_t)(nb - 1) * C, cls + (size_t)b * C, C * sizeof(float));
        float *pool = r + (size_t)nb * C;
        for (int c = 0; c < C; c++) {
            double s = 0.0;
            for (int i = 0; i < N; i++) s += own_patch[((size_t)b * N + i) * C + c];
            pool[c] = (float)(s / N);
        }
    }
    octic_tensor_set_free(&set);
done:
    free(cls);
    free(own_patch);
    free(prenorm_cls);
    return st;
}

/* ---- chunks -------------------------------------------------------------------- */

/* A chunk: magic, count, record floats, pixel bytes per image, then
 * items[count] int64, labels[count] int32, features[count * record] float,
 * pixels[count * pixel_bytes]. */
typedef struct {
    char magic[8];
    int64_t count, record, pixel_bytes;
} chunk_header;

static void chunk_path(char *buf, size_t len, const char *dir, int64_t index) {
    snprintf(buf, len, "%s/chunk-%06lld.bin", dir, (long long)index);
}

static octic_status write_chunk(const char *path, int64_t count, int64_t record, int64_t pixel_bytes,
                                const int64_t *items, const int32_t *labels, const float *features,
                                const uint8_t *pixels) {
    chunk_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CHUNK_MAGIC, 8);
    h.count = count, h.record = record, h.pixel_bytes = pixel_bytes;
    octic_atomic_file f;
    octic_status st = octic_atomic_open(&f, path);
    if (st != OCTIC_OK) return st;
    if ((st = octic_atomic_write(&f, &h, sizeof h)) != OCTIC_OK ||
        (st = octic_atomic_write(&f, items, (size_t)count * sizeof(int64_t))) != OCTIC_OK ||
        (st = octic_atomic_write(&f, labels, (size_t)count * sizeof(int32_t))) != OCTIC_OK ||
        (st = octic_atomic_write(&f, features, (size_t)(count * record) * sizeof(float))) != OCTIC_OK ||
        (pixel_bytes && (st = octic_atomic_write(&f, pixels, (size_t)(count * pixel_bytes))) != OCTIC_OK))
        return st; /* the writer has removed its temporary file */
    return octic_atomic_commit(&f);
}

/* Reads a chunk into the arrays at offset `at`; 0 when absent or not
 * matching (then it is recomputed). */
static int read_chunk(const char *path, int64_t record, int64_t pixel_bytes, int64_t at, int64_t cap,
                      octic_features *f, int64_t *count) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (access(path, R_OK) != 0 || octic_file_map(path, &buf, &len) != OCTIC_OK) return 0;
    chunk_header h;
    int ok = len >= sizeof h;
    if (ok) memcpy(&h, buf, sizeof h);
    ok = ok && memcmp(h.magic, CHUNK_MAGIC, 8) == 0 && h.record == record && h.pixel_bytes == pixel_bytes &&
         h.count > 0 && h.count <= cap - at &&
         len == sizeof h + (size_t)h.count * (sizeof(int64_t) + sizeof(int32_t) + record * sizeof(float) + pixel_bytes);
    if (ok) {
        const uint8_t *p = buf + sizeof h;
        memcpy(f->items + at, p, (size_t)h.count * sizeof(int64_t)), p += h.count * sizeof(int64_t);
        memcpy(f->labels + at, p, (size_t)h.count * sizeof(int32_t)), p += h.count * sizeof(int32_t);
        memcpy(f->features + at * record, p, (size_t)(h.count * record) * sizeof(float)), p += h.count * record * sizeof(float);
        if (pixel_bytes) memcpy(f->pixels + at * pixel_bytes, p, (size_t)(h.count * pixel_bytes));
        *count = h.count;
    }
    octic_file_unmap(buf, len);
    return ok;
}

/* ---- extraction ------------------------------------------------------------------ */

static void sha256_hex(const char *text, char hex[65]) {
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(text), (const uint8_t *)text);
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

void octic_features_free(octic_features *f) {
    free(f->features);
    free(f->labels);
    free(f->pixels);
    free(f->items);
    memset(f, 0, sizeof *f);
}

float *octic_features_slice(const octic_features *f, int64_t offset, int64_t width) {
    float *out = malloc((size_t)(f->n > 0 ? f->n : 1) * (size_t)width * sizeof(float));
    if (!out) return NULL;
    for (int64_t i = 0; i < f->n; i++)
        memcpy(out + i * width, f->features + i * f->record + offset, (size_t)width * sizeof(float));
    return out;
}

static const char *const subset_names[] = {"all", "first", "per-class", "random"};

static void hash_file_state(struct sha256_ctx *ctx, const char *path) {
    struct stat sb;
    char line[128];
    int n = stat(path, &sb) == 0 ? snprintf(line, sizeof line, " %lld %lld.%09ld", (long long)sb.st_size,
                                            (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec)
                                 : snprintf(line, sizeof line, " missing");
    sha256_update(ctx, strlen(path), (const uint8_t *)path);
    sha256_update(ctx, (size_t)n, (const uint8_t *)line);
}

/* hex (65) = SHA-256 of the split's files as they are now: each item's image
 * and mask path, size and modification time. Two data sets at the same path
 * (another checkout, a folder replaced, an image edited) thus never share
 * features. One stat per file: about a second for ImageNet's train split. */
static octic_status split_fingerprint(const octic_dataset *ds, int split, char hex[65]) {
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    size_t n = octic_dataset_item_count(ds, split);
    for (size_t i = 0; i < n; i++) {
        octic_dataset_item it;
        octic_status st = octic_dataset_get_item(ds, split, i, &it);
        if (st != OCTIC_OK) return st;
        hash_file_state(&ctx, it.image);
        if (it.mask) hash_file_state(&ctx, it.mask);
        char label[24];
        int len = snprintf(label, sizeof label, " %d\n", it.label);
        sha256_update(&ctx, (size_t)len, (const uint8_t *)label);
    }
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return OCTIC_OK;
}

/* A chunk is written whole into "<chunk>.tmp-XXXXXX" and renamed: a
 * temporary file an hour old is what a killed run left (another process
 * sharing the cache writes its chunk in seconds), and goes. */
static void remove_stale_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    time_t now = time(NULL);
    struct dirent *e;
    char path[1200];
    struct stat sb;
    while ((e = readdir(d)))
        if (strstr(e->d_name, OCTIC_ATOMIC_TMP)) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && now - sb.st_mtime > STALE_TEMPORARY_S) unlink(path);
        }
    closedir(d);
}

octic_status octic_features_extract(const octic_extract_spec *spec, octic_features *out) {
    memset(out, 0, sizeof *out);
    octic_model *m = spec->model;
    const octic_config *cfg = octic_model_config(m);
    octic_status st = octic_model_check_size(m, spec->size);
    if (st != OCTIC_OK) return st;
    const int C = cfg->dim, p = cfg->patch, nb = octic_features_blocks(m);
    const int N = (spec->size / p) * (spec->size / p);
    const int patch_kind = spec->kind == OCTIC_FEATURES_PATCH;
    out->dim = C;
    out->blocks = nb;
    out->patch = p;
    out->patches = N;
    out->record = patch_kind ? (int64_t)N * C : (int64_t)(nb + 1) * C;
    const int64_t pixel_bytes = patch_kind ? (int64_t)N * p * p : 0;

    /* the key: everything that changes the features, the data by its full
     * path and the state of its files */
    char files[65], root[PATH_MAX];
    if ((st = split_fingerprint(spec->ds, spec->split, files)) != OCTIC_OK) return st;
    if (!realpath(octic_dataset_root(spec->ds), root)) snprintf(root, sizeof root, "%s", octic_dataset_root(spec->ds));
    int klen = snprintf(
        out->key, sizeof out->key,
        "octic %s features v3\nmodel %s\nheads %d\ndata %s\nfiles %s\nlayout %s\nsplit %s\nsubset %s %zu seed %llu\n"
        "kind %s\nsize %d\nresize %d\nblocks %d\nbatch %d\n",
        OCTIC_VERSION, spec->model_sha256, cfg->heads, root, files, octic_layout_name(octic_dataset_layout(spec->ds)),
        octic_dataset_split_name(spec->ds, spec->split), subset_names[spec->subset], spec->subset_n,
        (unsigned long long)spec->seed, patch_kind ? "patch" : "classify", spec->size,
        patch_kind ? 0 : spec->resize_to, nb, spec->batch_size);
    char hex[65];
    sha256_hex(out->key, hex);
    int dlen = snprintf(out->dir, sizeof out->dir, "%s/%.32s", spec->cache_dir, hex);
    if (klen < 0 || (size_t)klen >= sizeof out->key || dlen < 0 || (size_t)dlen >= sizeof out->dir)
        return octic_fail(OCTIC_ERR_ARG, "feature cache: the path of %s or of the data set %s is too long",
                          spec->cache_dir, root);
    if ((st = mkdirs(out->dir)) != OCTIC_OK) return st;
    remove_stale_temporaries(out->dir);
    char path[1100];
    snprintf(path, sizeof path, "%s/key.txt", out->dir);
    if (access(path, F_OK) != 0) {
        octic_atomic_file kf;
        if ((st = octic_atomic_open(&kf, path)) != OCTIC_OK ||
            (st = octic_atomic_write(&kf, out->key, strlen(out->key))) != OCTIC_OK ||
            (st = octic_atomic_commit(&kf)) != OCTIC_OK)
            return st;
    }

    octic_loader_options lo = octic_loader_defaults();
    lo.split = spec->split;
    lo.transform = patch_kind ? OCTIC_TRANSFORM_SEGMENT : OCTIC_TRANSFORM_CLASSIFY;
    lo.size = spec->size;
    lo.resize_to = spec->resize_to;
    lo.batch_size = spec->batch_size;
    lo.threads = spec->threads;
    lo.masks = patch_kind;
    lo.subset = spec->subset;
    lo.subset_n = spec->subset_n;
    lo.seed = spec->seed;
    octic_loader *ld = NULL;
    if ((st = octic_loader_open(spec->ds, &lo, &ld)) != OCTIC_OK) return st;
    const int64_t cap = (int64_t)octic_loader_item_count(ld);
    out->features = malloc((size_t)(cap > 0 ? cap : 1) * (size_t)out->record * sizeof(float));
    out->labels = malloc((size_t)(cap > 0 ? cap : 1) * sizeof(int32_t));
    out->items = malloc((size_t)(cap > 0 ? cap : 1) * sizeof(int64_t));
    out->pixels = patch_kind ? malloc((size_t)(cap > 0 ? cap : 1) * (size_t)pixel_bytes) : NULL;
    if (!out->features || !out->labels || !out->items || (patch_kind && !out->pixels)) {
        octic_loader_close(ld);
        octic_features_free(out);
        return octic_fail(OCTIC_ERR_NOMEM, "features: out of memory for %lld images x %lld floats", (long long)cap,
                          (long long)(out->record));
    }
    int64_t chunk = 0;
    octic_batch b;
    while ((st = octic_loader_next(ld, &b)) == OCTIC_OK && b.count > 0) {
        chunk_path(path, sizeof path, out->dir, chunk);
        int64_t got = 0;
        if (read_chunk(path, out->record, pixel_bytes, out->n, cap, out, &got) && got == b.count &&
            out->items[out->n] == (int64_t)b.indices[0]) {
            out->chunks_reused++;
        } else {
            const int64_t at = out->n;
            float *dst = out->features + at * out->record;
            if ((st = octic_forward_records(m, b.images, b.count, spec->size, patch_kind ? NULL : dst,
                                            patch_kind ? dst : NULL)) != OCTIC_OK)
                break;
            for (int i = 0; i < b.count; i++) {
                out->labels[at + i] = b.labels[i];
                out->items[at + i] = (int64_t)b.indices[i];
                if (patch_kind)
                    octic_patch_pixels(b.masks + (size_t)i * spec->size * spec->size, spec->size, p,
                                          out->pixels + (at + i) * pixel_bytes);
            }
            if ((st = write_chunk(path, b.count, out->record, pixel_bytes, out->items + at, out->labels + at, dst,
                                  patch_kind ? out->pixels + at * pixel_bytes : NULL)) != OCTIC_OK)
                break;
            out->chunks_computed++;
            octic_eval_test_pause();
        }
        out->n += b.count;
        chunk++;
        if (spec->progress && spec->progress(spec->user, out->n + (int64_t)octic_loader_skipped(ld), cap)) {
            st = octic_fail(OCTIC_ERR_ARG, "cancelled during feature extraction");
            break;
        }
    }
    if (st == OCTIC_OK) {
        out->skipped = (int64_t)octic_loader_skipped(ld);
        size_t len = 0;
        for (size_t i = 0; i < octic_loader_skipped(ld) && len + 1 < sizeof out->skipped_text; i++) {
            size_t index;
            const char *file, *reason;
            octic_loader_skipped_item(ld, i, &index, &file, &reason);
            int w = snprintf(out->skipped_text + len, sizeof out->skipped_text - len, "%s%s (%s)", i ? "; " : "",
                             file, reason);
            if (w < 0) break;
            len += (size_t)w;
        }
    }
    octic_loader_close(ld);
    if (st != OCTIC_OK) octic_features_free(out);
    return st;
}
