/* Evaluations as the studio launches them (ui/evaluation.c): the demo hybrid
 * model on the demo ImageNet (k-NN) and VOC (segmentation), recorded in a
 * temporary results database; a cancelled run and a wrong data set. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evaluation.h"
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

int main(void) {
    Suite *s = suite_create("studio-eval");
    TCase *tc = tcase_create("eval");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, knn_on_demo_imagenet);
    tcase_add_test(tc, seg_on_demo_voc);
    tcase_add_test(tc, cancelled_and_wrong_data);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
