/* Evaluations as the studio launches them (ui/evaluation.c): the demo hybrid
 * model on the demo ImageNet (k-NN) and VOC (segmentation), recorded in a
 * temporary results database; a cancelled run and a wrong data set. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "evaluation.h"
#include "protocols.h"
#include "results_db.h"

static char tmp[64], db_path[128], cache[128], model[4096], imagenet[4096], voc[4096];

static void setup(void) {
    snprintf(tmp, sizeof tmp, "/tmp/octiscope-eval-XXXXXX");
    ck_assert(mkdtemp(tmp) != NULL);
    snprintf(db_path, sizeof db_path, "%s/results.sqlite", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    const char *models = getenv("OCTISCOPE_DEMO_MODELS"), *data = getenv("OCTISCOPE_DEMO_DATA");
    ck_assert(models && data);
    snprintf(model, sizeof model, "%s/demo-hybrid-deit3.safetensors", models);
    snprintf(imagenet, sizeof imagenet, "%s/imagenet", data);
    snprintf(voc, sizeof voc, "%s/voc", data);
}

static void teardown(void) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

static octiscope_eval_request request(octiscope_eval_protocol p, const char *data) {
    /* the demo ImageNet has 4 training images: k of 1 and 3 */
    return (octiscope_eval_request){
        .model = model, .data = data, .protocol = p, .db = db_path, .cache = cache, .n_ks = 2, .ks = {1, 3}};
}

/* The state and a metric of a run as the database has them. */
static void stored(int64_t id, char state[16], const char *metric, double *value) {
    octic_db *db;
    ck_assert_msg(octic_db_open(db_path, &db) == OCTIC_OK, "%s", octic_last_error());
    octic_db_run_info info;
    ck_assert(octic_db_get_run(db, id, &info) == OCTIC_OK);
    snprintf(state, 16, "%s", info.state);
    octic_db_row *rows;
    int n;
    *value = -1;
    ck_assert(octic_db_run_rows(db, id, OCTIC_DB_METRICS, &rows, &n) == OCTIC_OK);
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].name, metric) == 0) *value = rows[i].value;
    free(rows);
    ck_assert(octic_db_run_rows(db, id, OCTIC_DB_PARAMS, &rows, &n) == OCTIC_OK);
    int launched = 0;
    for (int i = 0; i < n; i++) launched |= strcmp(rows[i].name, "launched_by") == 0 && strcmp(rows[i].text, "octiscope") == 0;
    free(rows);
    ck_assert_msg(launched, "run %lld does not say the studio launched it", (long long)id);
    octic_db_close(db);
}

static int phases;
static void on_phase(void *user, const char *name) {
    phases++;
}
static int on_progress(void *user, int64_t done, int64_t total) {
    return user != NULL; /* a non-NULL user cancels */
}

START_TEST(knn_on_demo_imagenet) {
    octiscope_eval_request r = request(OCTISCOPE_EVAL_KNN, imagenet);
    r.phase = on_phase, r.progress = on_progress;
    phases = 0;
    octiscope_eval_outcome out;
    ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_str_eq(out.state, "done");
    ck_assert(out.run_id > 0 && phases > 0);
    ck_assert(out.main_value >= 0.0 && out.main_value <= 100.0);
    char state[16];
    double top1;
    stored(out.run_id, state, "top1", &top1);
    ck_assert_str_eq(state, "done");
    ck_assert(top1 == out.main_value);
    ck_assert_str_eq(out.notes, ""); /* nothing to tell */
}
END_TEST

/* New Evaluation's default ks (DINOv2's 10 and up) on the 4 train images:
 * the run is k = 4, a custom one, and the queue row has the note to show. */
START_TEST(knn_default_ks_on_a_small_set) {
    octiscope_eval_request r = request(OCTISCOPE_EVAL_KNN, imagenet);
    r.n_ks = 0;
    octiscope_eval_outcome out;
    ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_str_eq(out.state, "done");
    ck_assert_msg(strstr(out.notes, "k = 4, every train image"), "notes: '%s'", out.notes);
    char state[16];
    double best_k;
    stored(out.run_id, state, "best_k", &best_k);
    ck_assert(best_k == 4);
}
END_TEST

START_TEST(seg_on_demo_voc) {
    octiscope_eval_request r = request(OCTISCOPE_EVAL_SEG, voc);
    octiscope_eval_outcome out;
    ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
    char state[16];
    double miou;
    stored(out.run_id, state, "mIoU", &miou);
    ck_assert_str_eq(state, "done");
    ck_assert(miou >= 0.0 && miou <= 100.0 && miou == out.main_value);
}
END_TEST

START_TEST(cancelled_and_wrong_data) {
    octiscope_eval_request r = request(OCTISCOPE_EVAL_KNN, imagenet);
    r.progress = on_progress, r.user = (void *)1;
    octiscope_eval_outcome out;
    ck_assert(octiscope_eval_run(&r, &out) != OCTIC_OK);
    ck_assert(out.cancelled);
    char state[16];
    double v;
    stored(out.run_id, state, "top1", &v);
    ck_assert_str_eq(state, "cancelled");
    // segmentation on a classification set: an error naming the folder, nothing recorded
    r = request(OCTISCOPE_EVAL_SEG, imagenet);
    ck_assert(octiscope_eval_run(&r, &out) == OCTIC_ERR_ARG);
    ck_assert_msg(strstr(octic_last_error(), imagenet) != NULL, "%s", octic_last_error());
    ck_assert(out.run_id == 0 && strcmp(out.state, "failed") == 0);
    // a missing model
    r = request(OCTISCOPE_EVAL_KNN, imagenet);
    r.model = "/nonexistent/model.safetensors";
    ck_assert(octiscope_eval_run(&r, &out) != OCTIC_OK);
    ck_assert_msg(strstr(octic_last_error(), "/nonexistent/model.safetensors") != NULL, "%s", octic_last_error());
}
END_TEST

/* The text a run recorded for a parameter ("" when absent) and its protocol. */
static void stored_param(int64_t id, const char *name, char *text, size_t len, char protocol[64]) {
    octic_db *db;
    ck_assert_msg(octic_db_open(db_path, &db) == OCTIC_OK, "%s", octic_last_error());
    octic_db_run_info info;
    ck_assert(octic_db_get_run(db, id, &info) == OCTIC_OK);
    snprintf(protocol, 64, "%s", info.protocol);
    octic_db_row *rows;
    int n;
    ck_assert(octic_db_run_rows(db, id, OCTIC_DB_PARAMS, &rows, &n) == OCTIC_OK);
    text[0] = '\0';
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].name, name) == 0) snprintf(text, len, "%s", rows[i].text);
    free(rows);
    octic_db_close(db);
}

/* The dialog's lists of numbers: good lists, and every bad entry named. */
/* A finished run whose results the database refuses (as a full disk would):
 * failed, but its headline number comes back for the queue row to show. */
START_TEST(results_not_recorded) {
    octiscope_eval_request r = request(OCTISCOPE_EVAL_KNN, imagenet);
    octiscope_eval_outcome out;
    ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
    double recorded = out.main_value;
    sqlite3 *s = NULL;
    ck_assert_int_eq(sqlite3_open(db_path, &s), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(s,
                                  "CREATE TRIGGER refuse BEFORE INSERT ON metrics "
                                  "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(s);
    ck_assert(octiscope_eval_run(&r, &out) != OCTIC_OK);
    ck_assert_int_eq(out.unsaved, 1);
    ck_assert_str_eq(out.state, "failed");
    ck_assert(out.main_value == recorded); /* the same run again, from the cache: the same number */
}
END_TEST

START_TEST(parse_numbers) {
    double v[4];
    char err[200];
    ck_assert_int_eq(octiscope_parse_numbers("10, 20,100 ,200", 1, 1e5, 1, v, 4, err, sizeof err), 4);
    ck_assert(v[0] == 10 && v[1] == 20 && v[2] == 100 && v[3] == 200);
    ck_assert_int_eq(octiscope_parse_numbers("1e-6,0.5", 1e-12, 1e12, 0, v, 4, err, sizeof err), 2);
    ck_assert(v[0] == 1e-6 && v[1] == 0.5);
    ck_assert_int_eq(octiscope_parse_numbers("1,2.5", 1, 100, 1, v, 4, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'2.5'") && strstr(err, "whole"), "%s", err);
    ck_assert_int_eq(octiscope_parse_numbers("1,,2", 1, 100, 1, v, 4, err, sizeof err), -1);
    ck_assert_int_eq(octiscope_parse_numbers("", 1, 100, 1, v, 4, err, sizeof err), -1);
    ck_assert_int_eq(octiscope_parse_numbers("0", 1, 100, 1, v, 4, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'0'") != NULL, "%s", err);
    ck_assert_int_eq(octiscope_parse_numbers("abc", 1, 100, 0, v, 4, err, sizeof err), -1);
    ck_assert_int_eq(octiscope_parse_numbers("nan", 0, 100, 0, v, 4, err, sizeof err), -1);
    ck_assert_int_eq(octiscope_parse_numbers("1,2,3,4,5", 1, 100, 1, v, 4, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "more than 4") != NULL, "%s", err);
}
END_TEST

/* The segmentation's default C grid as New Evaluation shows it (six
 * digits), read back: the run is the published protocol, seg-capi, as the
 * same run from the command line is (before, it was seg-capi-custom). */
START_TEST(seg_defaults_as_shown) {
    octic_seg_protocol sp;
    octic_seg_protocol_defaults(&sp);
    char text[512], err[200];
    octiscope_format_numbers(text, sizeof text, sp.cs, sp.n_c, 0);
    ck_assert_msg(strstr(text, "3.72759e-05") != NULL, "%s", text);
    octiscope_eval_request r = request(OCTISCOPE_EVAL_SEG, voc);
    r.n_cs = octiscope_parse_numbers(text, 1e-12, 1e12, 0, r.cs, 16, err, sizeof err);
    ck_assert_int_eq(r.n_cs, sp.n_c);
    ck_assert(r.cs[1] != sp.cs[1]); /* six digits are not the value */
    octiscope_snap_numbers(r.cs, r.n_cs, sp.cs, sp.n_c);
    for (int i = 0; i < sp.n_c; i++) ck_assert(r.cs[i] == sp.cs[i]);
    r.n_ks = 0;
    octiscope_eval_outcome out;
    ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
    octic_db *db;
    ck_assert_msg(octic_db_open(db_path, &db) == OCTIC_OK, "%s", octic_last_error());
    octic_db_run_info info;
    ck_assert(octic_db_get_run(db, out.run_id, &info) == OCTIC_OK);
    octic_db_close(db);
    ck_assert_str_eq(info.protocol, "seg-capi");
    /* a value typed that is not a default stays as typed */
    double typed[1] = {3.7e-05};
    octiscope_snap_numbers(typed, 1, sp.cs, sp.n_c);
    ck_assert(typed[0] == 3.7e-05);
}
END_TEST

/* The protocols' settings reach the run and the database: the k-NN's
 * temperature, both linear protocols with a short schedule, the
 * segmentation's C grid and k values. */
START_TEST(settings_recorded) {
    char text[512], protocol[64], state[16];
    double v;
    octiscope_eval_outcome out;
    octiscope_eval_request r = request(OCTISCOPE_EVAL_KNN, imagenet);
    r.temperature = 0.5f;
    ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
    stored_param(out.run_id, "temperature", text, sizeof text, protocol);
    ck_assert_str_eq(text, "0.5");
    stored_param(out.run_id, "ks", text, sizeof text, protocol);
    ck_assert_str_eq(text, "1,3");
    for (int augmented = 0; augmented < 2; augmented++) {
        r = request(augmented ? OCTISCOPE_EVAL_LINEAR_DINOV2 : OCTISCOPE_EVAL_LINEAR, imagenet);
        r.n_lrs = 2, r.lrs[0] = 0.01, r.lrs[1] = 0.1;
        r.epochs = 2, r.epoch_length = 3, r.train_batch = 2;
        ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
        stored(out.run_id, state, "top1", &v);
        ck_assert_str_eq(state, "done");
        ck_assert(v >= 0 && v <= 100 && v == out.main_value);
        stored_param(out.run_id, "lrs", text, sizeof text, protocol);
        ck_assert_str_eq(text, "0.01,0.1");
        ck_assert_str_eq(protocol, augmented ? "linear-dinov2-custom" : "linear-cached-custom");
        stored_param(out.run_id, "epochs", text, sizeof text, protocol);
        ck_assert_str_eq(text, "2");
        stored_param(out.run_id, "epoch_length", text, sizeof text, protocol);
        ck_assert_str_eq(text, "3");
        stored_param(out.run_id, "train_batch", text, sizeof text, protocol);
        ck_assert_str_eq(text, "2");
        stored_param(out.run_id, "augment", text, sizeof text, protocol);
        ck_assert_msg(augmented ? strstr(text, "RandomResizedCrop") != NULL : strcmp(text, "none") == 0, "%s", text);
    }
    r = request(OCTISCOPE_EVAL_SEG, voc);
    r.n_cs = 2, r.cs[0] = 0.1, r.cs[1] = 10;
    r.n_seg_ks = 2, r.seg_ks[0] = 1, r.seg_ks[1] = 2;
    ck_assert_msg(octiscope_eval_run(&r, &out) == OCTIC_OK, "%s", octic_last_error());
    stored_param(out.run_id, "cs", text, sizeof text, protocol);
    ck_assert_str_eq(text, "0.1,10");
    stored_param(out.run_id, "knn_ks", text, sizeof text, protocol);
    ck_assert_str_eq(text, "1,2");
    ck_assert_str_eq(protocol, "seg-capi-custom");
}
END_TEST

int main(void) {
    Suite *s = suite_create("studio-eval");
    TCase *tc = tcase_create("eval");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, knn_on_demo_imagenet);
    tcase_add_test(tc, knn_default_ks_on_a_small_set);
    tcase_add_test(tc, seg_on_demo_voc);
    tcase_add_test(tc, seg_defaults_as_shown);
    tcase_add_test(tc, cancelled_and_wrong_data);
    tcase_add_test(tc, results_not_recorded);
    tcase_add_test(tc, parse_numbers);
    tcase_add_test(tc, settings_recorded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
