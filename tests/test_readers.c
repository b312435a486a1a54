/* Checkpoint and array readers: torch.save zips (zip + pickle), safetensors,
 * numpy .npy. Fixtures come from tests/fixtures/make_reader_fixtures.py;
 * golden checkpoints from tests/golden. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "pickle.h"

/* --- helpers ------------------------------------------------------------------ */

static const char *env_dir(const char *var, const char *fallback) {
    const char *d = getenv(var);
    return d && *d ? d : fallback;
}

static char *fixture(const char *name) {
    static _Thread_local char buf[8][1024];
    static _Thread_local int next;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", env_dir("OCTIC_FIXTURES_DIR", "tests/fixtures"), name);
    return b;
}

static char *golden(const char *kase, const char *file) {
    static _Thread_local char buf[4][1024];
    static _Thread_local int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s/%s", env_dir("OCTIC_GOLDEN_DIR", "tests/golden"), kase,
             file);
    return b;
}

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* A fresh temporary directory per test (Check forks each test). */
static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/octic-readers-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

static char *tmpfile_path(const char *name) {
    static _Thread_local char buf[4][1024];
    static _Thread_local int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
    return b;
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static const octic_tensor *get(const octic_tensor_set *s, const char *name) {
    const octic_tensor *t = octic_tensor_set_find(s, name);
    ck_assert_msg(t != NULL, "tensor '%s' missing", name);
    return t;
}

static void assert_shape(const octic_tensor *t, const char *want) {
    char buf[128];
    ck_assert_str_eq(octic_shape_str(buf, sizeof buf, t->shape, t->ndim), want);
}

static void assert_values(const octic_tensor *t, const float *want, int n) {
    ck_assert_int_eq(octic_numel(t->shape, t->ndim), n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(t->data[i] == want[i], "%s[%d] = %g, expected %g", t->name, i,
                      (double)t->data[i], (double)want[i]);
}

static int is_ignored(const octic_tensor_set *s, const char *name) {
    for (int i = 0; i < s->n_ignored; i++)
        if (strcmp(s->ignored[i], name) == 0) return 1;
    return 0;
}

static void load_ok(const char *path, octic_tensor_set *s) {
    octic_status st = octic_checkpoint_load(path, s);
    ck_assert_msg(st == OCTIC_OK, "%s: %s", path, octic_last_error());
}

/* Expects `st` to be `want` with exactly the message `msg`. */
static void assert_error(octic_status st, octic_status want, const char *msg) {
    ck_assert_msg(st == want, "status %s, expected %s (%s)", octic_status_name(st),
                  octic_status_name(want), octic_last_error());
    ck_assert_str_eq(octic_last_error(), msg);
}

static void assert_error_has(octic_status st, octic_status want, const char *part) {
    ck_assert_msg(st == want, "status %s, expected %s (%s)", octic_status_name(st),
                  octic_status_name(want), octic_last_error());
    ck_assert_msg(strstr(octic_last_error(), part) != NULL, "message '%s' lacks '%s'",
                  octic_last_error(), part);
}

/* --- golden checkpoints --------------------------------------------------------- */

/* Every tensor of tensors.txt is in the set with its shape, except
 * mask_token*, which must be ignored; nothing else is loaded. */
static void check_golden_case(const char *kase) {
    octic_tensor_set s;
    load_ok(golden(kase, "model.pth"), &s);
    FILE *f = fopen(golden(kase, "tensors.txt"), "r");
    ck_assert_ptr_nonnull(f);
    char line[1024], key[64] = "";
    int kept = 0, masked = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "# top-level key: %63s", key) == 1) continue;
        char *name = strtok(line, "\t"), *shape = strtok(NULL, "\t"), *dtype = strtok(NULL, "\t");
        ck_assert_msg(name && shape && dtype, "%s: bad tensors.txt line", kase);
        if (strncmp(name, "mask_token", 10) == 0) {
            ck_assert_msg(is_ignored(&s, name), "%s: %s not ignored", kase, name);
            ck_assert_ptr_null(octic_tensor_set_find(&s, name));
            masked++;
            continue;
        }
        ck_assert_str_eq(dtype, "float32");
        assert_shape(get(&s, name), shape);
        kept++;
    }
    fclose(f);
    ck_assert_str_eq(s.source_key, key);
    ck_assert_int_eq(s.count, kept);
    ck_assert_int_eq(s.n_ignored, masked);
    ck_assert_int_gt(kept, 50);
    octic_tensor_set_free(&s);
}

START_TEST(golden_names_and_shapes) {
    DIR *d = opendir(env_dir("OCTIC_GOLDEN_DIR", "tests/golden"));
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int cases = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        struct stat sb;
        if (stat(golden(e->d_name, "model.pth"), &sb) != 0) continue;
        check_golden_case(e->d_name);
        cases++;
    }
    closedir(d);
    ck_assert_int_ge(cases, 9);
}
END_TEST

/* golden-<case>-<tensor>.npy: the tensor as torch.load sees it. */
START_TEST(golden_values_match_torch) {
    DIR *d = opendir(env_dir("OCTIC_FIXTURES_DIR", "tests/fixtures"));
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int checked = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "golden-", 7) != 0 || n < 12) continue;
        char kase[256], name[256];
        const char *dash = strchr(e->d_name + 7, '-');
        ck_assert_ptr_nonnull(dash);
        snprintf(kase, sizeof kase, "%.*s", (int)(dash - e->d_name - 7), e->d_name + 7);
        snprintf(name, sizeof name, "%.*s", (int)(n - 4 - (size_t)(dash + 1 - e->d_name)),
                 dash + 1);
        octic_tensor_set s;
        octic_array a;
        load_ok(golden(kase, "model.pth"), &s);
        ck_assert_int_eq(octic_npy_load(fixture(e->d_name), &a), OCTIC_OK);
        const octic_tensor *t = get(&s, name);
        ck_assert_int_eq(t->ndim, a.ndim);
        for (int i = 0; i < a.ndim; i++) ck_assert_int_eq(t->shape[i], a.shape[i]);
        assert_values(t, a.data, (int)octic_numel(a.shape, a.ndim));
        octic_array_free(&a);
        octic_tensor_set_free(&s);
        checked++;
    }
    closedir(d);
    ck_assert_int_ge(checked, 9);
}
END_TEST

/* --- torch.save fixtures ----------------------------------------------------------- */

START_TEST(deit_training_checkpoint) {
    octic_tensor_set s;
    load_ok(fixture("deit_train.pth"), &s);
    ck_assert_str_eq(s.source_key, "model");
    ck_assert_int_eq(s.count, 8); /* Linear, LayerNorm, BatchNorm (4) */
    const octic_tensor *w = get(&s, "0.weight");
    assert_shape(w, "[4, 3]");
    for (int i = 0; i < 12; i++) ck_assert_float_eq(w->data[i], 0.5f * (float)i);
    const float bias[] = {1, -2, 3, -4};
    assert_values(get(&s, "0.bias"), bias, 4);
    assert_shape(get(&s, "2.running_var"), "[4]");
    /* int64 BatchNorm counter: skipped and recorded. */
    ck_assert_int_eq(s.n_ignored, 1);
    ck_assert_str_eq(s.ignored[0], "2.num_batches_tracked");
    ck_assert_ptr_null(octic_tensor_set_find(&s, "_orig_mod.0.weight"));
    octic_tensor_set_free(&s);
}
END_TEST

START_TEST(dino_training_checkpoint) {
    octic_tensor_set s;
    load_ok(fixture("dino_train.pth"), &s);
    ck_assert_str_eq(s.source_key, "teacher");
    ck_assert_int_eq(s.count, 3);
    ck_assert_str_eq(s.tensors[0].name, "cls_token");
    ck_assert_str_eq(s.tensors[1].name, "blocks.0.norm1.weight");
    ck_assert_str_eq(s.tensors[2].name, "norm.bias");
    const float two[] = {2, 2, 2, 2}, cls[] = {0, 1, 2, 3};
    assert_values(&s.tensors[1], two, 4);
    assert_values(&s.tensors[0], cls, 4); /* the teacher's, not the student's zeros */
    ck_assert_int_eq(s.n_ignored, 3);
    ck_assert_str_eq(s.ignored[0], "mask_token");
    ck_assert_str_eq(s.ignored[1], "dino_head.mlp.0.weight");
    ck_assert_str_eq(s.ignored[2], "ibot_head.mlp.0.weight");
    octic_tensor_set_free(&s);
}
END_TEST

START_TEST(module_prefix_at_top_level) {
    octic_tensor_set s;
    load_ok(fixture("module_prefix.pth"), &s);
    ck_assert_ptr_null(s.source_key);
    ck_assert_int_eq(s.count, 3);
    const float w[] = {0, 1, 2, 3, 4, 5}, b[] = {0.5f, -0.5f}, n[] = {1, 2, 3};
    assert_values(get(&s, "head.weight"), w, 6);
    assert_values(get(&s, "head.bias"), b, 2);
    assert_values(get(&s, "norm.weight"), n, 3); /* module._orig_mod.backbone. */
    octic_tensor_set_free(&s);
}
END_TEST

START_TEST(float16_and_bfloat16) {
    octic_tensor_set s;
    octic_array h, b;
    load_ok(fixture("half.pth"), &s);
    ck_assert_str_eq(s.source_key, "state_dict");
    ck_assert_int_eq(octic_npy_load(fixture("half_h.npy"), &h), OCTIC_OK);
    ck_assert_int_eq(octic_npy_load(fixture("half_b.npy"), &b), OCTIC_OK);
    assert_values(get(&s, "h"), h.data, 6);
    assert_values(get(&s, "b"), b.data, 6);
    ck_assert_float_eq(get(&s, "h")->data[3], 65504.0f);
    ck_assert_float_eq(get(&s, "h")->data[5], 5.9604645e-08f); /* subnormal half */
    ck_assert_float_eq(get(&s, "b")->data[2], 0.15625f);
    const octic_tensor *ht = get(&s, "h_t");
    assert_shape(ht, "[3, 2]");
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) ck_assert_float_eq(ht->data[i * 2 + j], h.data[j * 3 + i]);
    ck_assert_int_eq(s.n_ignored, 1);
    ck_assert_str_eq(s.ignored[0], "long");
    octic_array_free(&h);
    octic_array_free(&b);
    octic_tensor_set_free(&s);
}
END_TEST

/* float64 weights (a state dict saved after .double()) are read as
 * float32, as tensor.float() rounds them; before, they were dropped as
 * "ignored" and the model then missed them. */
START_TEST(float64_weights) {
    octic_tensor_set s;
    octic_array d;
    load_ok(fixture("double.pth"), &s);
    ck_assert_int_eq(octic_npy_load(fixture("double_d.npy"), &d), OCTIC_OK);
    assert_shape(get(&s, "d"), "[2, 3]");
    for (int i = 0; i < 6; i++) /* bitwise: 1e-40 stays subnormal, 1e300 becomes inf */
        ck_assert_int_eq(memcmp(&get(&s, "d")->data[i], &d.data[i], sizeof(float)), 0);
    const octic_tensor *dt = get(&s, "d_t");
    assert_shape(dt, "[3, 2]");
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) ck_assert_int_eq(memcmp(&dt->data[i * 2 + j], &d.data[j * 3 + i], 4), 0);
    ck_assert_int_eq(s.n_ignored, 1);
    ck_assert_str_eq(s.ignored[0], "steps");
    octic_array_free(&d);
    octic_tensor_set_free(&s);
}
END_TEST

/* base[i, j] = 6 i + j; every view must come out contiguous. */
START_TEST(shared_storage_views) {
    octic_tensor_set s;
    load_ok(fixture("shared.pth"), &s);
    const octic_tensor *t = get(&s, "transposed");
    assert_shape(t, "[6, 4]");
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) ck_assert_float_eq(t->data[i * 4 + j], (float)(6 * j + i));
    t = get(&s, "slice");
    assert_shape(t, "[2, 3]");
    const float slice[] = {8, 9, 10, 14, 15, 16};
    assert_values(t, slice, 6);
    t = get(&s, "every_other");
    assert_shape(t, "[4, 3]");
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) ck_assert_float_eq(t->data[i * 3 + j], (float)(6 * i + 2 * j));
    const float row[] = {18, 19, 20, 21, 22, 23};
    assert_values(get(&s, "row"), row, 6);
    t = get(&s, "scalar");
    ck_assert_int_eq(t->ndim, 0);
    ck_assert_float_eq(t->data[0], 15.0f);
    t = get(&s, "half_t"); /* float16 base.t()[1:, :] */
    assert_shape(t, "[5, 4]");
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            ck_assert_float_eq(t->data[i * 4 + j], (float)(6 * j + i + 1));
    for (int i = 0; i < 24; i++) ck_assert_float_eq(get(&s, "base")->data[i], (float)i);
    /* dense float32 views are read in place from the file's mapping; strided
     * and float16 ones are copies */
    ck_assert_int_eq(get(&s, "base")->owns_data, 0);
    ck_assert_int_eq(get(&s, "row")->owns_data, 0);
    ck_assert_int_eq(get(&s, "transposed")->owns_data, 1);
    ck_assert_int_eq(get(&s, "half_t")->owns_data, 1);
    ck_assert_ptr_nonnull(s.mapping);
    /* released tensors give their memory back: a copy is freed, mapped pages dropped */
    for (int i = 0; i < s.count; i++) octic_tensor_set_release(&s, i);
    ck_assert_ptr_null(get(&s, "transposed")->data);
    octic_tensor_set_free(&s);
    /* from memory (no mapping to outlive the call) everything is a copy */
    octic_tensor_set m;
    FILE *f = fopen(fixture("shared.pth"), "rb");
    ck_assert_ptr_nonnull(f);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_int_eq(octic_pth_load_memory(buf, n, "shared.pth", &m), OCTIC_OK);
    for (int i = 0; i < m.count; i++) ck_assert_int_eq(m.tensors[i].owns_data, 1);
    ck_assert_ptr_null(m.mapping);
    octic_tensor_set_free(&m);
}
END_TEST

static void check_small_model(const char *file) {
    octic_tensor_set s;
    load_ok(fixture(file), &s);
    ck_assert_str_eq(s.source_key, "model");
    ck_assert_int_eq(s.count, 2);
    const float w[] = {0, 0.25f, 0.5f, 0.75f, 1, 1.25f}, b[] = {-1, 1};
    assert_values(get(&s, "w"), w, 6);
    assert_values(get(&s, "b"), b, 2);
    octic_tensor_set_free(&s);
}

START_TEST(pickle_protocols) {
    const char *files[] = {"proto2.pth", "proto3.pth", "proto4.pth", "proto5.pth"};
    check_small_model(files[_i]);
}
END_TEST

START_TEST(zip64_archive) { check_small_model("zip64.pth"); }
END_TEST

START_TEST(pth_from_memory) {
    size_t len;
    uint8_t *buf = read_all(fixture("proto4.pth"), &len);
    octic_tensor_set s;
    ck_assert_int_eq(octic_pth_load_memory(buf, len, "mem.pth", &s), OCTIC_OK);
    ck_assert_int_eq(s.count, 2);
    octic_tensor_set_free(&s);
    free(buf);
}
END_TEST

/* --- torch.save errors -------------------------------------------------------------- */

START_TEST(truncated_zip) {
    make_tmpdir();
    size_t len;
    uint8_t *buf = read_all(golden("deit_hybrid_p16", "model.pth"), &len);
    char *path = tmpfile_path("half.pth");
    write_all(path, buf, len / 2);
    octic_tensor_set s;
    octic_status st = octic_pth_load(path, &s);
    char want[1200];
    snprintf(want, sizeof want,
             "%s: not a zip archive or truncated: no end of central directory record found in "
             "the last %zu bytes",
             path, (size_t)22 + 0xffff);
    assert_error(st, OCTIC_ERR_FORMAT, want);
    ck_assert_int_eq(s.count, 0);
    free(buf);
    remove_tmpdir();
}
END_TEST

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

START_TEST(corrupt_central_directory) {
    size_t len;
    uint8_t *buf = read_all(golden("deit_hybrid_p16", "model.pth"), &len);
    uint8_t *eocd = buf + len - 22;
    ck_assert_uint_eq(rd32(eocd), 0x06054b50u);
    uint32_t cd = rd32(eocd + 16);
    octic_tensor_set s;
    char want[256];

    /* Flip the signature of the first central directory header. */
    buf[cd] ^= 0xff;
    snprintf(want, sizeof want,
             "x.pth: corrupt zip central directory: expected entry 0 header at offset %u, found "
             "other bytes",
             cd);
    assert_error(octic_pth_load_memory(buf, len, "x.pth", &s), OCTIC_ERR_FORMAT, want);
    buf[cd] ^= 0xff;

    /* Point the directory past the end of the file. */
    eocd[19] ^= 0x40;
    assert_error_has(octic_pth_load_memory(buf, len, "x.pth", &s), OCTIC_ERR_FORMAT,
                     "x.pth: corrupt zip or truncated: central directory at offset");
    eocd[19] ^= 0x40;

    /* Claim more entries than the directory can hold. */
    eocd[10] = eocd[8] = 0xff;
    eocd[11] = eocd[9] = 0x7f;
    assert_error_has(octic_pth_load_memory(buf, len, "x.pth", &s), OCTIC_ERR_FORMAT,
                     "entries cannot fit in");
    free(buf);
}
END_TEST

START_TEST(unknown_pickle_opcode) {
    octic_tensor_set s;
    char want[1200];
    const char *path = fixture("bad_opcode.pth");
    snprintf(want, sizeof want, "%s: data.pkl: unknown pickle opcode 0xff at offset 11", path);
    assert_error(octic_pth_load(path, &s), OCTIC_ERR_FORMAT, want);
}
END_TEST

START_TEST(deflated_entries) {
    octic_tensor_set s;
    char want[1200];
    const char *path = fixture("deflated.pth");
    snprintf(want, sizeof want,
             "%s: zip entry 'proto2/data.pkl' uses compression method 8: only stored "
             "(uncompressed, method 0) entries are supported, as torch.save writes them",
             path);
    assert_error(octic_pth_load(path, &s), OCTIC_ERR_UNSUPPORTED, want);
}
END_TEST

START_TEST(missing_file) {
    octic_tensor_set s;
    assert_error(octic_checkpoint_load("/nonexistent/x.pth", &s), OCTIC_ERR_IO,
                 "/nonexistent/x.pth: cannot open: No such file or directory");
    octic_array a;
    assert_error(octic_npy_load("/nonexistent/x.npy", &a), OCTIC_ERR_IO,
                 "/nonexistent/x.npy: cannot open: No such file or directory");
}
END_TEST

/* --- pickle directly ---------------------------------------------------------------- */

static octic_status unpickle(const char *bytes, size_t n, octic_pickle **pk, octic_pk_value **v) {
    return octic_pickle_load((const uint8_t *)bytes, n, "t.pkl", pk, v);
}

START_TEST(pickle_values) {
    /* PROTO 2, MARK, BININT1 7, LONG1 -2 (0xfe), NEWTRUE, NONE, BINFLOAT 1.5,
     * SHORT_BINBYTES 'ab', BINUNICODE 'k', MEMOIZE-free BINPUT 0, BINGET 0,
     * TUPLE, STOP */
    const char p[] = "\x80\x02(K\x07\x8a\x01\xfe\x88NG\x3f\xf8\x00\x00\x00\x00\x00\x00"
                     "C\x02" "abX\x01\x00\x00\x00kq\x00h\x00t.";
    octic_pickle *pk;
    octic_pk_value *v;
    ck_assert_int_eq(unpickle(p, sizeof p - 1, &pk, &v), OCTIC_OK);
    ck_assert_int_eq(v->kind, OCTIC_PK_TUPLE);
    ck_assert_uint_eq(v->n, 8);
    ck_assert_int_eq(v->items[0]->i, 7);
    ck_assert_int_eq(v->items[1]->i, -2);
    ck_assert_int_eq(v->items[2]->kind, OCTIC_PK_BOOL);
    ck_assert_int_eq(v->items[3]->kind, OCTIC_PK_NONE);
    ck_assert_double_eq(v->items[4]->f, 1.5);
    ck_assert_int_eq(v->items[5]->kind, OCTIC_PK_BYTES);
    ck_assert_str_eq(v->items[6]->s, "k");
    ck_assert_ptr_eq(v->items[6], v->items[7]); /* memo shares the value */
    octic_pickle_free(pk);
    /* APPENDS of nothing to an empty list (found by fuzzing: UB on NULL). */
    ck_assert_int_eq(unpickle("\x80\x02](e.", 6, &pk, &v), OCTIC_OK);
    ck_assert_int_eq(v->kind, OCTIC_PK_LIST);
    ck_assert_uint_eq(v->n, 0);
    octic_pickle_free(pk);
}
END_TEST

START_TEST(pickle_opaque_objects) {
    /* An unknown class: STACK_GLOBAL 'argparse' 'Namespace', EMPTY_TUPLE,
     * NEWOBJ, EMPTY_DICT, BUILD, then REDUCE of os.system: opaque, never run. */
    const char p[] = "\x80\x04\x8c\x08" "argparse\x8c\x09" "Namespace\x93)\x81}b"
                     "\x8c\x02os\x8c\x06system\x93\x8c\x02hi\x85R\x86.";
    octic_pickle *pk;
    octic_pk_value *v;
    ck_assert_int_eq(unpickle(p, sizeof p - 1, &pk, &v), OCTIC_OK);
    ck_assert_uint_eq(v->n, 2);
    ck_assert_int_eq(v->items[0]->kind, OCTIC_PK_OPAQUE);
    ck_assert_str_eq(v->items[0]->s, "argparse.Namespace");
    ck_assert_int_eq(v->items[1]->kind, OCTIC_PK_OPAQUE);
    ck_assert_str_eq(v->items[1]->s, "os.system");
    octic_pickle_free(pk);
}
END_TEST

START_TEST(pickle_errors) {
    octic_pickle *pk;
    octic_pk_value *v;
    assert_error(unpickle("\x80\x02K", 3, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: truncated pickle: opcode 0x4b at offset 2 needs 1 bytes, 0 left");
    assert_error(unpickle("\x80\x02X\xff\xff\x00\x00" "ab.", 10, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: truncated pickle: opcode 0x58 at offset 2 needs 65535 bytes, 3 left");
    assert_error(unpickle("\x80\x02N", 3, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: truncated pickle: ended at offset 3 without a STOP opcode");
    assert_error(unpickle("\x80\x02h\x05.", 5, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: bad pickle: memo key 5 not found (opcode 0x68 at offset 2)");
    assert_error(unpickle("\x80\x02(t\x86.", 6, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: bad pickle: stack underflow (opcode 0x86 at offset 4)");
    assert_error(unpickle("\x80\x02NN(s.", 7, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: bad pickle: stack underflow (opcode 0x73 at offset 5)");
    assert_error(unpickle("\x80\x02r\xff\xff\xff\x7f.", 8, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: bad pickle: stack underflow (opcode 0x72 at offset 2)");
    assert_error(unpickle("\x80\x02Nr\xff\xff\xff\x7f.", 9, &pk, &v), OCTIC_ERR_FORMAT,
                 "t.pkl: bad pickle: memo index out of range (opcode 0x72 at offset 3)");
    assert_error(unpickle("\x80\x09N.", 4, &pk, &v), OCTIC_ERR_UNSUPPORTED,
                 "t.pkl: pickle protocol 9: protocols 2 to 5 are supported");
    /* One big list turned into an OrderedDict again and again through the
     * memo: refused once the copying outgrows the file, not quadratic. */
    size_t cap = 100000, n = 0;
    char *big = malloc(cap);
    ck_assert_ptr_nonnull(big);
    const char head[] = "\x80\x02" "ccollections\nOrderedDict\nq\x00]q\x01(";
    memcpy(big, head, sizeof head - 1);
    n += sizeof head - 1;
    for (int i = 0; i < 2000; i++, n += 3) memcpy(big + n, "NN\x86", 3);
    memcpy(big + n, "e0", 2);
    n += 2;
    for (int i = 0; i < 10000; i++) {
        memcpy(big + n, "h\x00h\x01\x85R0", 7);
        n += 7;
    }
    memcpy(big + n, "N.", 2);
    assert_error_has(unpickle(big, n + 2, &pk, &v), OCTIC_ERR_FORMAT,
                     "t.pkl: bad pickle: too many OrderedDict items to copy (opcode 0x52");
    free(big);
    /* Deep nesting is bounded, not recursive. */
    char deep[20010];
    memset(deep, '(', sizeof deep);
    assert_error_has(unpickle(deep, sizeof deep, &pk, &v), OCTIC_ERR_FORMAT,
                     "too many nested MARKs");
}
END_TEST

/* --- safetensors ------------------------------------------------------------------- */

START_TEST(safetensors_fixture) {
    octic_tensor_set s;
    load_ok(fixture("mixed.safetensors"), &s);
    ck_assert_int_eq(s.count, 4);
    const float a[] = {1, 2, 3, 4}, b[] = {-1.5f}, c[] = {0.5f, 0.25f, -8}, d[] = {3, -0.15625f};
    assert_values(get(&s, "a_f32"), a, 4);
    assert_values(get(&s, "b_f16"), b, 1);
    assert_values(get(&s, "c_f32_unaligned"), c, 3);
    assert_values(get(&s, "d_bf16"), d, 2);
    ck_assert_int_eq(get(&s, "a_f32")->owns_data, 0); /* points into the mapping */
    ck_assert_int_eq(get(&s, "c_f32_unaligned")->owns_data, 1);
    ck_assert_ptr_nonnull(s.mapping);
    ck_assert_str_eq(octic_tensor_set_get_meta(&s, "format"), "pt");
    ck_assert_str_eq(octic_tensor_set_get_meta(&s, "note"), "tab\there \"quoted\" \xc3\xa9");
    octic_tensor_set_free(&s);
}
END_TEST

/* A safetensors file from a header string and `data_len` zero bytes. */
static uint8_t *make_st(const char *header, size_t data_len, size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    uint8_t *buf = calloc(1, *len);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    return buf;
}

static void st_error(const char *header, size_t data_len, octic_status want, const char *msg) {
    size_t len;
    uint8_t *buf = make_st(header, data_len, &len);
    octic_tensor_set s;
    assert_error(octic_safetensors_load_memory(buf, len, "m.safetensors", &s), want, msg);
    ck_assert_int_eq(s.count, 0);
    free(buf);
}

/* A safetensors file not written by octic convert is read as a .pth with
 * the same state dict would be: prefixes off, training-only parts and
 * integer buffers ignored, float64 rounded to float32. */
START_TEST(safetensors_as_a_state_dict) {
    const char *header =
        "{\"module.backbone.norm.weight\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
        "\"mask_token\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[16,24]},"
        "\"steps\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]}}";
    size_t len;
    uint8_t *buf = make_st(header, 32, &len);
    const double w[2] = {0.1, -1e300};
    memcpy(buf + len - 32, w, sizeof w);
    octic_tensor_set s;
    ck_assert_msg(octic_safetensors_load_memory(buf, len, "m.safetensors", &s) == OCTIC_OK, "%s",
                  octic_last_error());
    ck_assert_int_eq(s.count, 1);
    const octic_tensor *t = get(&s, "norm.weight");
    ck_assert_float_eq(t->data[0], (float)0.1);
    ck_assert(isinf(t->data[1]) && t->data[1] < 0);
    ck_assert_int_eq(s.n_ignored, 2);
    ck_assert(is_ignored(&s, "mask_token") && is_ignored(&s, "steps"));
    octic_tensor_set_free(&s);
    free(buf);
}
END_TEST

START_TEST(safetensors_errors) {
    st_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
             OCTIC_ERR_FORMAT,
             "m.safetensors: truncated: tensor 'x' ends at byte 8 of the data section, which has only 4 "
             "bytes (data_offsets [0, 8])");
    st_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
             OCTIC_ERR_FORMAT,
             "m.safetensors: tensor 'x': data_offsets [0, 8] span 8 bytes: expected 12 for F32 "
             "[3]");
    st_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
             OCTIC_ERR_FORMAT,
             "m.safetensors: tensor 'x': data_offsets [-4, 0] out of range: the data section "
             "has 8 bytes");
    st_error("{\"x\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
             OCTIC_ERR_UNSUPPORTED,
             "m.safetensors: tensor 'x' has dtype C64: expected F32, F16, BF16 or F64");
    st_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]", 8, OCTIC_ERR_FORMAT,
             "m.safetensors: header: invalid JSON: expected ',' or '}' at offset 31");
    st_error("[1,2]", 0, OCTIC_ERR_FORMAT, "m.safetensors: header is not a JSON object");
    st_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0,
             OCTIC_ERR_FORMAT,
             "m.safetensors: tensor 'x': shape entry 0 is not a non-negative integer");
    st_error("{\"__metadata__\":{\"a\":1}}", 0, OCTIC_ERR_FORMAT,
             "m.safetensors: __metadata__ value of 'a' is not a string");
    st_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
             "\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}",
             0, OCTIC_ERR_FORMAT, "m.safetensors: tensor 'x' appears twice in the header");

    /* Header length beyond the file, and a file too short for one. */
    size_t len;
    uint8_t *buf = make_st("{}", 0, &len);
    buf[0] = 200;
    octic_tensor_set s;
    assert_error(octic_safetensors_load_memory(buf, len, "m.safetensors", &s), OCTIC_ERR_FORMAT,
                 "m.safetensors: not a safetensors file or truncated: header length 200, but "
                 "the file has 2 bytes after it (and the limit is 100000000)");
    assert_error(octic_safetensors_load_memory(buf, 5, "m.safetensors", &s), OCTIC_ERR_FORMAT,
                 "m.safetensors: not a safetensors file: 5 bytes, expected at least 8 (the "
                 "header length)");
    free(buf);
}
END_TEST

/* The dispatch by content: a file that is neither a zip archive nor
 * safetensors is named as such, with what it seems to be. */
static void not_a_checkpoint(const char *name, const void *bytes, size_t len, octic_status want, const char *what) {
    char *path = tmpfile_path(name), msg[1400];
    write_all(path, bytes, len);
    snprintf(msg, sizeof msg,
             "%s: %s: expected a PyTorch checkpoint (the zip archive torch.save writes) or a safetensors file%s", path,
             what, want == OCTIC_ERR_UNSUPPORTED ? "; load it in PyTorch and save it again with torch.save" : "");
    octic_tensor_set s;
    assert_error(octic_checkpoint_load(path, &s), want, msg);
    ck_assert_int_eq(s.count, 0);
}

START_TEST(checkpoint_kind_by_content) {
    make_tmpdir();
    not_a_checkpoint("empty.pth", "", 0, OCTIC_ERR_FORMAT, "the file is empty");
    not_a_checkpoint("photo.pth", "\xff\xd8\xff\xe0\x00\x10JFIF", 10, OCTIC_ERR_FORMAT,
                     "not a checkpoint (it is a JPEG image)");
    /* the name does not decide either: a JPEG renamed .safetensors */
    not_a_checkpoint("photo.safetensors", "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01", 13, OCTIC_ERR_FORMAT,
                     "not a checkpoint (it is a JPEG image)");
    not_a_checkpoint("x.pth", "\x93NUMPY\x01\x00v\x00", 10, OCTIC_ERR_FORMAT,
                     "not a checkpoint (it is a NumPy .npy array)");
    not_a_checkpoint("x.pkl", "\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}", 12, OCTIC_ERR_FORMAT,
                     "not a checkpoint (it is a Python pickle)");
    not_a_checkpoint("notes.pth", "hello, world\n", 13, OCTIC_ERR_FORMAT, "not a checkpoint");
    /* torch.save(..., _use_new_zipfile_serialization=False): its magic number first */
    not_a_checkpoint("legacy.pth", "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02", 17,
                     OCTIC_ERR_UNSUPPORTED,
                     "a PyTorch file in the legacy format (torch.save before PyTorch 1.6, or with "
                     "_use_new_zipfile_serialization=False)");

    /* safetensors whatever its name; a damaged one named .safetensors gets
     * its reader's own error */
    size_t len;
    uint8_t *buf = make_st("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, &len);
    char *path = tmpfile_path("model.bin");
    write_all(path, buf, len);
    free(buf);
    octic_tensor_set s;
    load_ok(path, &s);
    ck_assert_int_eq(s.count, 1);
    octic_tensor_set_free(&s);
    path = tmpfile_path("short.safetensors");
    write_all(path, "\x05\x00\x00", 3);
    char want[1200];
    snprintf(want, sizeof want, "%s: not a safetensors file: 3 bytes, expected at least 8 (the header length)", path);
    assert_error(octic_checkpoint_load(path, &s), OCTIC_ERR_FORMAT, want);
}
END_TEST

START_TEST(safetensors_round_trip) {
    make_tmpdir();
    octic_tensor_set s, r;
    octic_tensor_set_init(&s);
    int64_t sh1[] = {2, 3}, sh2[] = {5}, sh0[1] = {0};
    float *a = malloc(6 * sizeof *a), *b = malloc(5 * sizeof *b), *c = malloc(sizeof *c);
    for (int i = 0; i < 6; i++) a[i] = (float)i * 1.5f - 2;
    for (int i = 0; i < 5; i++) b[i] = 1.0f / (float)(i + 1);
    c[0] = 42;
    /* Added out of order: the file is sorted by name. */
    ck_assert_int_eq(octic_tensor_set_add(&s, "z.weight", 2, sh1, a, 1), OCTIC_OK);
    ck_assert_int_eq(octic_tensor_set_add(&s, "a.bias", 1, sh2, b, 1), OCTIC_OK);
    ck_assert_int_eq(octic_tensor_set_add(&s, "m.scalar", 0, sh0, c, 1), OCTIC_OK);
    ck_assert_int_eq(octic_tensor_set_set_meta(&s, "format", "pt"), OCTIC_OK);
    ck_assert_int_eq(octic_tensor_set_set_meta(&s, "desc", "line\nbreak \"q\" \\"), OCTIC_OK);
    char *path = tmpfile_path("rt.safetensors");
    ck_assert_msg(octic_safetensors_save(path, &s) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(count_files(tmpdir), 1); /* no temporary left */
    load_ok(path, &r);
    ck_assert_int_eq(r.count, 3);
    ck_assert_str_eq(r.tensors[0].name, "a.bias");
    ck_assert_str_eq(r.tensors[1].name, "m.scalar");
    ck_assert_str_eq(r.tensors[2].name, "z.weight");
    for (int i = 0; i < 3; i++) ck_assert_int_eq(r.tensors[i].owns_data, 0); /* aligned */
    assert_values(get(&r, "z.weight"), a, 6);
    assert_values(get(&r, "a.bias"), b, 5);
    assert_values(get(&r, "m.scalar"), c, 1);
    assert_shape(get(&r, "z.weight"), "[2, 3]");
    ck_assert_int_eq(get(&r, "m.scalar")->ndim, 0);
    ck_assert_str_eq(octic_tensor_set_get_meta(&r, "format"), "pt");
    ck_assert_str_eq(octic_tensor_set_get_meta(&r, "desc"), "line\nbreak \"q\" \\");
    /* The header is padded so the data starts 8-byte aligned. */
    size_t len;
    uint8_t *raw = read_all(path, &len);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = (h << 8) | raw[i];
    ck_assert_uint_eq((8 + h) % 8, 0);
    ck_assert_uint_eq(len, 8 + h + 12 * sizeof(float));
    free(raw);
    octic_tensor_set_free(&r);
    octic_tensor_set_free(&s);
    remove_tmpdir();
}
END_TEST

START_TEST(pth_to_safetensors) {
    make_tmpdir();
    octic_tensor_set p, r;
    load_ok(golden("dino_hybrid_p16", "model.pth"), &p);
    ck_assert_int_eq(octic_tensor_set_set_meta(&p, "source", "dino_hybrid_p16"), OCTIC_OK);
    char *path = tmpfile_path("m.safetensors");
    ck_assert_msg(octic_safetensors_save(path, &p) == OCTIC_OK, "%s", octic_last_error());
    load_ok(path, &r);
    ck_assert_int_eq(r.count, p.count);
    for (int i = 0; i < p.count; i++) {
        const octic_tensor *a = &p.tensors[i], *b = get(&r, a->name);
        ck_assert_int_eq(a->ndim, b->ndim);
        for (int d = 0; d < a->ndim; d++) ck_assert_int_eq(a->shape[d], b->shape[d]);
        size_t n = (size_t)octic_numel(a->shape, a->ndim);
        ck_assert_msg(memcmp(a->data, b->data, n * sizeof(float)) == 0, "%s differs", a->name);
    }
    ck_assert_str_eq(octic_tensor_set_get_meta(&r, "source"), "dino_hybrid_p16");
    /* The memory variant copies everything. */
    size_t len;
    uint8_t *raw = read_all(path, &len);
    octic_tensor_set m;
    ck_assert_int_eq(octic_safetensors_load_memory(raw, len, "mem", &m), OCTIC_OK);
    ck_assert_int_eq(m.count, p.count);
    ck_assert_ptr_null(m.mapping);
    for (int i = 0; i < m.count; i++) ck_assert_int_eq(m.tensors[i].owns_data, 1);
    octic_tensor_set_free(&m);
    free(raw);
    octic_tensor_set_free(&r);
    octic_tensor_set_free(&p);
    remove_tmpdir();
}
END_TEST

/* A full disk (here: a file size limit) must leave nothing behind. */
START_TEST(save_failure_is_atomic) {
    make_tmpdir();
    octic_tensor_set s;
    octic_tensor_set_init(&s);
    int64_t shape[] = {64, 1024};
    float *big = calloc(64 * 1024, sizeof *big);
    ck_assert_int_eq(octic_tensor_set_add(&s, "big", 2, shape, big, 1), OCTIC_OK);
    char *path = tmpfile_path("full.safetensors");
    char *npy = tmpfile_path("full.npy");
    signal(SIGXFSZ, SIG_IGN); /* make write() fail with EFBIG instead */
    struct rlimit old, rl = {4096, 4096};
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    rl.rlim_max = old.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    char want[1200];
    snprintf(want, sizeof want, "%s: write failed: File too large", path);
    assert_error(octic_safetensors_save(path, &s), OCTIC_ERR_IO, want);
    snprintf(want, sizeof want, "%s: write failed: File too large", npy);
    assert_error(octic_npy_save(npy, big, 2, shape), OCTIC_ERR_IO, want);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    ck_assert_int_eq(count_files(tmpdir), 0);
    assert_error(octic_safetensors_save("/nonexistent/dir/x.safetensors", &s), OCTIC_ERR_IO,
                 "/nonexistent/dir/x.safetensors: cannot create a temporary file to write: No "
                 "such file or directory");
    octic_tensor_set_free(&s);
    remove_tmpdir();
}
END_TEST

/* What --output names that is not a plain file: a symlink's target is
 * replaced (the link stays), a device is written into (not replaced by a
 * file: /dev/null stays a device, /dev/full says the disk is full), a
 * folder is refused. */
START_TEST(save_through_links_and_devices) {
    make_tmpdir();
    int64_t shape[] = {4};
    float v[4] = {1, 2, 3, 4};
    char *target = tmpfile_path("target.npy"), *link = tmpfile_path("link.npy");
    ck_assert_int_eq(octic_npy_save(target, v, 1, shape), OCTIC_OK);
    ck_assert_int_eq(symlink(target, link), 0);
    v[0] = 7;
    ck_assert_int_eq(octic_npy_save(link, v, 1, shape), OCTIC_OK);
    struct stat sb;
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    octic_array a;
    ck_assert_int_eq(octic_npy_load(target, &a), OCTIC_OK);
    ck_assert_float_eq(a.data[0], 7);
    octic_array_free(&a);
    ck_assert_int_eq(count_files(tmpdir), 2); /* no temporary file left */

    ck_assert_int_eq(octic_npy_save("/dev/null", v, 1, shape), OCTIC_OK);
    ck_assert_int_eq(stat("/dev/null", &sb), 0);
    ck_assert(S_ISCHR(sb.st_mode));
    if (stat("/dev/full", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        assert_error(octic_npy_save("/dev/full", v, 1, shape), OCTIC_ERR_IO,
                     "/dev/full: write failed: No space left on device");
        ck_assert_int_eq(stat("/dev/full", &sb), 0);
        ck_assert(S_ISCHR(sb.st_mode));
    }
    char want[1200];
    snprintf(want, sizeof want, "%s: cannot write: it is a folder; name a file", tmpdir);
    assert_error(octic_npy_save(tmpdir, v, 1, shape), OCTIC_ERR_IO, want);
    remove_tmpdir();
}
END_TEST

/* --- npy ----------------------------------------------------------------------------- */

START_TEST(npy_fixtures) {
    octic_array a;
    ck_assert_int_eq(octic_npy_load(fixture("f32.npy"), &a), OCTIC_OK);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 2);
    ck_assert_int_eq(a.shape[1], 3);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(a.data[i], (float)i / 4);
    octic_array_free(&a);
    ck_assert_int_eq(octic_npy_load(fixture("scalar.npy"), &a), OCTIC_OK);
    ck_assert_int_eq(a.ndim, 0);
    ck_assert_float_eq(a.data[0], 7.5f);
    octic_array_free(&a);
    const char *versions[] = {"v2.npy", "v3.npy"};
    for (int v = 0; v < 2; v++) {
        ck_assert_int_eq(octic_npy_load(fixture(versions[v]), &a), OCTIC_OK);
        ck_assert_int_eq(a.ndim, 1);
        ck_assert_int_eq(a.shape[0], 4);
        for (int i = 0; i < 4; i++) ck_assert_float_eq(a.data[i], (float)i - 1);
        octic_array_free(&a);
    }
}
END_TEST

static void npy_error(const char *file, octic_status want, const char *fmt) {
    octic_array a;
    char msg[1400];
    const char *path = fixture(file);
    snprintf(msg, sizeof msg, fmt, path);
    assert_error(octic_npy_load(path, &a), want, msg);
    ck_assert_ptr_null(a.data);
}

#define EXPECTED "expected float32 ('<f4'), little-endian, C order"

START_TEST(npy_errors) {
    npy_error("f64.npy", OCTIC_ERR_UNSUPPORTED, "%s: dtype '<f8' is not supported: " EXPECTED);
    npy_error("big_endian.npy", OCTIC_ERR_UNSUPPORTED,
              "%s: dtype '>f4' is not supported: " EXPECTED);
    npy_error("int64.npy", OCTIC_ERR_UNSUPPORTED, "%s: dtype '<i8' is not supported: " EXPECTED);
    npy_error("structured.npy", OCTIC_ERR_UNSUPPORTED,
              "%s: dtype '[('x', '<f4'), ('y', '<i4')]' is not supported: " EXPECTED);
    npy_error("fortran.npy", OCTIC_ERR_UNSUPPORTED,
              "%s: fortran_order True is not supported: " EXPECTED);
    npy_error("proto2.pth", OCTIC_ERR_FORMAT, "%s: not a .npy file: no \\x93NUMPY magic");

    make_tmpdir();
    size_t len;
    uint8_t *buf = read_all(fixture("f32.npy"), &len);
    char *path = tmpfile_path("cut.npy");
    write_all(path, buf, len - 14);
    octic_array a;
    char want[1200];
    snprintf(want, sizeof want,
             "%s: truncated: shape [2, 3] of float32 needs 24 bytes of data, found 10", path);
    assert_error(octic_npy_load(path, &a), OCTIC_ERR_FORMAT, want);
    write_all(path, buf, 40);
    snprintf(want, sizeof want, "%s: truncated .npy header: 118 bytes announced, 30 in the file",
             path);
    assert_error(octic_npy_load(path, &a), OCTIC_ERR_FORMAT, want);
    const char bad_hdr[] = "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}";
    assert_error(octic_npy_load_memory((const uint8_t *)bad_hdr, sizeof bad_hdr - 1, "m.npy", &a),
                 OCTIC_ERR_FORMAT,
                 "m.npy: malformed .npy header (needs 'descr', 'fortran_order' and 'shape'): "
                 "{'descr': '<f4'}");
    free(buf);
    remove_tmpdir();
}
END_TEST

START_TEST(npy_round_trip) {
    make_tmpdir();
    float data[2 * 3 * 4];
    for (int i = 0; i < 24; i++) data[i] = (float)i * 0.1f - 1;
    const int64_t shapes[][3] = {{2, 3, 4}, {24}, {0}};
    const int ndims[] = {3, 1, 0};
    for (int k = 0; k < 3; k++) {
        char *path = tmpfile_path("rt.npy");
        ck_assert_int_eq(octic_npy_save(path, data, ndims[k], shapes[k]), OCTIC_OK);
        octic_array a;
        ck_assert_msg(octic_npy_load(path, &a) == OCTIC_OK, "%s", octic_last_error());
        ck_assert_int_eq(a.ndim, ndims[k]);
        for (int d = 0; d < ndims[k]; d++) ck_assert_int_eq(a.shape[d], shapes[k][d]);
        int64_t n = octic_numel(shapes[k], ndims[k]);
        ck_assert_int_eq(memcmp(a.data, data, (size_t)n * sizeof(float)), 0);
        octic_array_free(&a);
        /* numpy aligns the data to 64 bytes. */
        size_t len;
        uint8_t *raw = read_all(path, &len);
        ck_assert_uint_eq((len - (size_t)n * 4) % 64, 0);
        free(raw);
    }
    ck_assert_int_eq(count_files(tmpdir), 1);
    remove_tmpdir();
}
END_TEST

/* --- tensor sets ------------------------------------------------------------------------ */

START_TEST(tensor_set_basics) {
    ck_assert_float_eq(octic_f16_to_f32(0x3c00), 1.0f);
    ck_assert_float_eq(octic_f16_to_f32(0xc000), -2.0f);
    ck_assert_float_eq(octic_f16_to_f32(0x7bff), 65504.0f);
    ck_assert_float_eq(octic_f16_to_f32(0x0001), 5.9604645e-08f);
    ck_assert(octic_f16_to_f32(0x7c00) > 1e38f);
    ck_assert_float_eq(octic_bf16_to_f32(0x3f80), 1.0f);
    ck_assert_float_eq(octic_bf16_to_f32(0xc040), -3.0f);
    octic_tensor_set s;
    octic_tensor_set_init(&s);
    int64_t sh[] = {1};
    ck_assert_int_eq(octic_tensor_set_add(&s, "b", 1, sh, calloc(1, 4), 1), OCTIC_OK);
    ck_assert_int_eq(octic_tensor_set_add(&s, "a", 1, sh, calloc(1, 4), 1), OCTIC_OK);
    ck_assert_ptr_null(octic_tensor_set_first_duplicate(&s));
    octic_tensor_set_sort(&s);
    ck_assert_str_eq(s.tensors[0].name, "a");
    ck_assert_int_eq(octic_tensor_set_set_meta(&s, "k", "1"), OCTIC_OK);
    ck_assert_int_eq(octic_tensor_set_set_meta(&s, "k", "2"), OCTIC_OK);
    ck_assert_int_eq(s.n_meta, 1);
    ck_assert_str_eq(octic_tensor_set_get_meta(&s, "k"), "2");
    ck_assert_ptr_null(octic_tensor_set_get_meta(&s, "none"));
    ck_assert_int_eq(octic_tensor_set_add(&s, "a", 1, sh, calloc(1, 4), 1), OCTIC_OK);
    ck_assert_str_eq(octic_tensor_set_first_duplicate(&s), "a");
    octic_tensor_set_free(&s);
    ck_assert_int_eq(s.count, 0);
}
END_TEST

static Suite *readers_suite(void) {
    Suite *s = suite_create("readers");
    TCase *tc = tcase_create("pth");
    tcase_add_test(tc, golden_names_and_shapes);
    tcase_add_test(tc, golden_values_match_torch);
    tcase_add_test(tc, deit_training_checkpoint);
    tcase_add_test(tc, dino_training_checkpoint);
    tcase_add_test(tc, module_prefix_at_top_level);
    tcase_add_test(tc, float16_and_bfloat16);
    tcase_add_test(tc, float64_weights);
    tcase_add_test(tc, shared_storage_views);
    tcase_add_loop_test(tc, pickle_protocols, 0, 4);
    tcase_add_test(tc, zip64_archive);
    tcase_add_test(tc, pth_from_memory);
    tcase_add_test(tc, truncated_zip);
    tcase_add_test(tc, corrupt_central_directory);
    tcase_add_test(tc, unknown_pickle_opcode);
    tcase_add_test(tc, deflated_entries);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, checkpoint_kind_by_content);
    suite_add_tcase(s, tc);

    tc = tcase_create("pickle");
    tcase_add_test(tc, pickle_values);
    tcase_add_test(tc, pickle_opaque_objects);
    tcase_add_test(tc, pickle_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("safetensors");
    tcase_add_test(tc, safetensors_fixture);
    tcase_add_test(tc, safetensors_errors);
    tcase_add_test(tc, safetensors_as_a_state_dict);
    tcase_add_test(tc, safetensors_round_trip);
    tcase_add_test(tc, pth_to_safetensors);
    tcase_add_test(tc, save_failure_is_atomic);
    tcase_add_test(tc, save_through_links_and_devices);
    suite_add_tcase(s, tc);

    tc = tcase_create("npy");
    tcase_add_test(tc, npy_fixtures);
    tcase_add_test(tc, npy_errors);
    tcase_add_test(tc, npy_round_trip);
    tcase_add_test(tc, tensor_set_basics);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(readers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
