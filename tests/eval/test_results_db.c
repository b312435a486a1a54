/* The results database: schema and migrations, a run's life, interrupted
 * runs, concurrent writers, and failures (read-only file, full disk) that
 * leave no partial rows. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results_db.h"
#include "runner.h"

static char dir[256];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/octic-dbtest-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void db_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

/* A scalar from a query through a separate plain connection. */
static long long query_int(const char *path, const char *sql) {
    sqlite3 *s = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    ck_assert_msg(sqlite3_prepare_v2(s, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(s));
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    long long v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(s);
    return v;
}

static int64_t add_model(octic_db *db, const char *sha) {
    octic_db_model m = {sha, "hybrid_dinov2_large_patch16", "dinov2", "hybrid", 24, 1024, 16, 16,
                        300000000, 49.5, "/models/a.pth", 1234, 5678};
    int64_t id = 0;
    ck_assert_msg(octic_db_add_model(db, &m, &id) == OCTIC_OK, "%s", octic_last_error());
    return id;
}

static const octic_db_param params[] = {{"model", "/models/a.pth"}, {"ks", "10,20,100,200"}, {"temperature", "0.07"}};

START_TEST(test_schema_and_run) {
    make_dir();
    char path[512], deep[512];
    /* a path whose folder does not exist (a mistyped --db): refused, nothing created */
    snprintf(path, sizeof path, "%s/deep/er/results.sqlite", dir);
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_ERR_IO);
    ck_assert_msg(strstr(octic_last_error(), "its folder does not exist"), "%s", octic_last_error());
    snprintf(deep, sizeof deep, "%s/deep", dir);
    ck_assert_int_ne(access(deep, F_OK), 0);
    /* the default database's folders are created */
    snprintf(deep, sizeof deep, "%s/deep/er", dir);
    setenv("XDG_DATA_HOME", deep, 1);
    ck_assert_int_eq(octic_db_default_path(path, sizeof path), OCTIC_OK);
    ck_assert_msg(octic_db_open(path, &db) == OCTIC_OK, "%s", octic_last_error());
    unsetenv("XDG_DATA_HOME");
    ck_assert_int_eq(octic_db_schema_version(db), OCTIC_DB_SCHEMA_VERSION);
    char ok[64];
    ck_assert_int_eq(octic_db_integrity(db, ok, sizeof ok), OCTIC_OK);
    ck_assert_str_eq(ok, "ok");
    int64_t model = add_model(db, "aa11");
    ck_assert_int_eq(add_model(db, "aa11"), model); /* same content: same model */
    ck_assert_int_ne(add_model(db, "bb22"), model);
    int64_t ds = 0, run = 0;
    ck_assert_int_eq(octic_db_add_dataset(db, "imagenet", "/data/imagenet", "imagenet", 1000, &ds), OCTIC_OK);
    ck_assert_int_eq(octic_db_start_run(db, model, ds, "knn-dinov2", params, 3, &run), OCTIC_OK);
    octic_db_run_info info;
    ck_assert_int_eq(octic_db_get_run(db, run, &info), OCTIC_OK);
    ck_assert_str_eq(info.state, "running");
    ck_assert_str_eq(info.checkpoint, "/models/a.pth");
    octic_db_metric metrics[] = {{"top1", 82.5}, {"top5", 95.25}};
    octic_db_trial trials[] = {{"knn", "k=10", "top1", 81.0, 0}, {"knn", "k=20", "top1", 82.5, 1}};
    octic_db_class_result classes[] = {{"knn", 3, "cat", "IoU", 50.0}};
    ck_assert_int_eq(octic_db_finish_run(db, run, metrics, 2, trials, 2, classes, 1, "2 of 9 val images skipped"), OCTIC_OK);
    ck_assert_int_eq(octic_db_get_run(db, run, &info), OCTIC_OK);
    ck_assert_str_eq(info.state, "done");
    ck_assert_str_ne(info.ended, "");
    ck_assert_str_eq(info.message, "2 of 9 val images skipped"); /* recorded with the numbers */
    octic_db_row *rows = NULL;
    int n = 0;
    ck_assert_int_eq(octic_db_run_rows(db, run, OCTIC_DB_TRIALS, &rows, &n), OCTIC_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(rows[1].text, "k=20");
    ck_assert_int_eq(rows[1].index, 1);
    free(rows);
    ck_assert_int_eq(octic_db_run_rows(db, run, OCTIC_DB_PARAMS, &rows, &n), OCTIC_OK);
    ck_assert_int_eq(n, 3);
    free(rows);
    /* a finished run of an unknown id is an error, and writes nothing */
    ck_assert_int_ne(octic_db_finish_run(db, 999, metrics, 2, NULL, 0, NULL, 0, NULL), OCTIC_OK);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM metrics WHERE run_id = 999"), 0);
    /* deleting cascades */
    ck_assert_int_eq(octic_db_delete_run(db, run), OCTIC_OK);
    octic_db_close(db);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM metrics"), 0);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM trials"), 0);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM run_params"), 0);
    /* WAL persists in the file */
    sqlite3 *s = NULL;
    sqlite3_open(path, &s);
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(s, "PRAGMA journal_mode", -1, &q, NULL);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(s);
}
END_TEST

START_TEST(test_foreign_keys_enforced) {
    make_dir();
    char path[512];
    db_path(path, sizeof path, "fk.sqlite");
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    int64_t run = 0;
    /* a run of a model that does not exist */
    ck_assert_int_eq(octic_db_start_run(db, 42, 0, "knn-dinov2", params, 3, &run), OCTIC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(octic_last_error(), "FOREIGN KEY"));
    octic_db_close(db);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM runs"), 0);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM run_params"), 0);
}
END_TEST

START_TEST(test_newer_schema_refused) {
    make_dir();
    char path[512];
    db_path(path, sizeof path, "new.sqlite");
    sqlite3 *s = NULL;
    ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(s, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(octic_last_error(), "newer"));
    /* not a database at all */
    db_path(path, sizeof path, "junk.sqlite");
    FILE *f = fopen(path, "w");
    fputs("this is not a database, just text long enough to have a header.............................", f);
    fclose(f);
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(octic_last_error(), "not a results database"));
    /* a folder */
    ck_assert_int_eq(octic_db_open(dir, &db), OCTIC_ERR_ARG);
    ck_assert_msg(strstr(octic_last_error(), "a folder, expected a results database file"), "%s",
                  octic_last_error());
    /* another program's database, at its version 0 or 7: refused, and left
     * as it was (before, it got our tables and WAL, or "table models
     * already exists", or "newer than this octic's") */
    for (int version = 0; version <= 7; version += 7) {
        db_path(path, sizeof path, version ? "other7.sqlite" : "other0.sqlite");
        ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
        char sql[160];
        snprintf(sql, sizeof sql, "CREATE TABLE models (x); CREATE TABLE notes (y); PRAGMA user_version = %d",
                 version);
        ck_assert_int_eq(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(s);
        ck_assert_int_eq(octic_db_open(path, &db), OCTIC_ERR_FORMAT);
        ck_assert_msg(strstr(octic_last_error(), "another program") && strstr(octic_last_error(), path),
                      "%s", octic_last_error());
        ck_assert_int_eq(query_int(path, "SELECT count(*) FROM sqlite_master"), 2);
        ck_assert_int_eq(query_int(path, "PRAGMA user_version"), version);
        ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
        sqlite3_stmt *q = NULL;
        ck_assert_int_eq(sqlite3_prepare_v2(s, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "delete");
        sqlite3_finalize(q);
        sqlite3_close(s);
    }
}
END_TEST

/* A process that dies with a run "running" leaves it interrupted for the next opener. */
START_TEST(test_killed_run_is_interrupted) {
    make_dir();
    char path[512];
    db_path(path, sizeof path, "kill.sqlite");
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        octic_db *db = NULL;
        if (octic_db_open(path, &db) != OCTIC_OK) _exit(2);
        int64_t run = 0, model = 0;
        octic_db_model m = {"cc33", "x", "deit3", "standard", 1, 8, 1, 16, 10, 0.1, NULL, 0, 0};
        if (octic_db_add_model(db, &m, &model) != OCTIC_OK) _exit(3);
        if (octic_db_start_run(db, model, 0, "seg-capi", params, 3, &run) != OCTIC_OK) _exit(4);
        if (write(pipefd[1], "r", 1) != 1) _exit(5);
        for (;;) pause();
    }
    char c;
    ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM runs WHERE state = 'running'"), 1);
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    char ok[64];
    ck_assert_int_eq(octic_db_integrity(db, ok, sizeof ok), OCTIC_OK);
    ck_assert_str_eq(ok, "ok");
    octic_db_close(db);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM runs WHERE state = 'interrupted' AND ended IS NOT NULL"), 1);
    /* a live process's run is left alone */
    db_path(path, sizeof path, "live.sqlite");
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    int64_t run = 0;
    ck_assert_int_eq(octic_db_start_run(db, add_model(db, "dd44"), 0, "knn-dinov2", params, 3, &run), OCTIC_OK);
    octic_db *other = NULL;
    ck_assert_int_eq(octic_db_open(path, &other), OCTIC_OK);
    octic_db_run_info info;
    ck_assert_int_eq(octic_db_get_run(other, run, &info), OCTIC_OK);
    ck_assert_str_eq(info.state, "running");
    octic_db_close(other);
    octic_db_close(db);
}
END_TEST

/* Several processes writing runs into one database at once all succeed. */
START_TEST(test_concurrent_writers) {
    make_dir();
    char path[512];
    db_path(path, sizeof path, "busy.sqlite");
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    octic_db_close(db);
    enum { PROCS = 4, RUNS = 25 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            octic_db *d = NULL;
            if (octic_db_open(path, &d) != OCTIC_OK) _exit(10);
            char sha[16];
            snprintf(sha, sizeof sha, "proc%d", p);
            octic_db_model m = {sha, "x", "deit3", "standard", 1, 8, 1, 16, 10, 0.1, "/m", 1, 1};
            int64_t model = 0;
            if (octic_db_add_model(d, &m, &model) != OCTIC_OK) _exit(11);
            octic_db_metric met[40];
            char names[40][16];
            for (int i = 0; i < 40; i++) snprintf(names[i], 16, "m%d", i), met[i].name = names[i], met[i].value = i;
            for (int r = 0; r < RUNS; r++) {
                int64_t run = 0;
                if (octic_db_start_run(d, model, 0, "knn-dinov2", params, 3, &run) != OCTIC_OK) {
                    fprintf(stderr, "%s\n", octic_last_error());
                    _exit(12);
                }
                if (octic_db_finish_run(d, run, met, 40, NULL, 0, NULL, 0, NULL) != OCTIC_OK) {
                    fprintf(stderr, "%s\n", octic_last_error());
                    _exit(13);
                }
            }
            octic_db_close(d);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        waitpid(pids[p], &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed (%d)", p, WEXITSTATUS(status));
    }
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM runs WHERE state = 'done'"), PROCS * RUNS);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM metrics"), PROCS * RUNS * 40);
}
END_TEST

/* A read-only database file: a clear error, and nothing written. */
START_TEST(test_read_only_file) {
    make_dir();
    char path[512];
    db_path(path, sizeof path, "ro.sqlite");
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    int64_t model = add_model(db, "ee55");
    octic_db_close(db);
    ck_assert_int_eq(chmod(path, 0444), 0);
    ck_assert_int_eq(chmod(dir, 0555), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* root ignores permissions: the child becomes nobody, for whom they apply */
        if (geteuid() == 0 && setuid(65534) != 0) _exit(20);
        octic_db *d = NULL;
        octic_status st = octic_db_open(path, &d);
        int64_t run = 0;
        if (st == OCTIC_OK) st = octic_db_start_run(d, model, 0, "knn-dinov2", params, 3, &run);
        if (st == OCTIC_OK) _exit(21);
        const char *msg = octic_last_error();
        fprintf(stderr, "read-only: %s\n", msg);
        _exit(strstr(msg, path) && (strstr(msg, "read-only") || strstr(msg, "cannot open")) ? 0 : 22);
    }
    int status;
    waitpid(pid, &status, 0);
    chmod(dir, 0755);
    chmod(path, 0644);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", WEXITSTATUS(status));
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM runs"), 0);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM run_params"), 0);
}
END_TEST

/* A file size limit reached in the middle of a run's results: a clear error,
 * the transaction rolled back, and the database still sound. */
START_TEST(test_full_disk) {
    make_dir();
    char path[512];
    db_path(path, sizeof path, "full.sqlite");
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    int64_t model = add_model(db, "ff66"), run = 0;
    ck_assert_int_eq(octic_db_start_run(db, model, 0, "seg-capi", params, 3, &run), OCTIC_OK);
    octic_db_close(db);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        octic_db *d = NULL;
        if (octic_db_open(path, &d) != OCTIC_OK) _exit(30);
        struct rlimit rl = {128 * 1024, 128 * 1024}; /* far less than the results below */
        setrlimit(RLIMIT_FSIZE, &rl);
        enum { N = 20000 };
        octic_db_class_result *cls = malloc(N * sizeof *cls);
        char(*names)[40] = malloc(N * sizeof *names);
        for (int i = 0; i < N; i++) {
            snprintf(names[i], 40, "a rather long class name %d", i);
            cls[i] = (octic_db_class_result){"logreg", i, names[i], "IoU", i * 0.5};
        }
        octic_db_metric met[] = {{"mIoU", 35.1}};
        octic_status st = octic_db_finish_run(d, run, met, 1, NULL, 0, cls, N, NULL);
        if (st == OCTIC_OK) _exit(31);
        const char *msg = octic_last_error();
        fprintf(stderr, "full: %s\n", msg);
        _exit(strstr(msg, path) && strstr(msg, "file size limit") ? 0 : 32);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", WEXITSTATUS(status));
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    char ok[64];
    ck_assert_int_eq(octic_db_integrity(db, ok, sizeof ok), OCTIC_OK);
    ck_assert_str_eq(ok, "ok");
    octic_db_close(db);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM class_results"), 0);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM metrics"), 0);
    /* and the run was not marked done */
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM runs WHERE state = 'done'"), 0);
}
END_TEST

/* A run whose evaluation finishes but whose results cannot be recorded (the
 * database refuses the metrics, as a full disk would) gives them back to the
 * caller all the same (octic eval prints them): hours of work are not lost. */
START_TEST(test_results_kept_when_not_recorded) {
    make_dir();
    char path[512], cache[512], model[512], data[512];
    db_path(path, sizeof path, "refuses.sqlite");
    db_path(cache, sizeof cache, "cache");
    snprintf(model, sizeof model, "%s/dino_hybrid_p16/model.pth", getenv("OCTIC_GOLDEN_DIR"));
    snprintf(data, sizeof data, "%s/imagenet", getenv("OCTIC_DEMO_DATA"));
    octic_db *db = NULL;
    ck_assert_int_eq(octic_db_open(path, &db), OCTIC_OK);
    octic_db_close(db);
    sqlite3 *s = NULL;
    ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(s,
                                  "CREATE TRIGGER refuse BEFORE INSERT ON metrics "
                                  "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(s);

    octic_eval_run_request r;
    octic_eval_run_request_defaults(&r, OCTIC_EVAL_KNN);
    r.model = model, r.heads = 2, r.data = data, r.db = path, r.cache = cache;
    r.size = 64, r.batch_size = 2;
    r.knn.n_k = 1, r.knn.ks[0] = 1;
    octic_eval_run_outcome out;
    octic_status st = octic_eval_run(&r, &out);
    ck_assert_int_ne(st, OCTIC_OK);
    ck_assert_int_eq(out.unsaved, 1);
    ck_assert_int_eq(out.state, OCTIC_RUN_FAILED);
    ck_assert_msg(strstr(octic_last_error(), "full") != NULL, "%s", octic_last_error());
    int top1 = -1;
    for (int i = 0; i < out.results.n_metrics; i++)
        if (!strcmp(out.results.metrics[i].name, "top1")) top1 = i;
    ck_assert_int_ge(top1, 0);
    ck_assert(out.results.metrics[top1].value >= 0 && out.results.metrics[top1].value <= 100);
    octic_eval_results_free(&out.results);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM runs WHERE state = 'failed'"), 1);
    ck_assert_int_eq(query_int(path, "SELECT count(*) FROM metrics"), 0);
}
END_TEST

START_TEST(test_sha256) {
    make_dir();
    char path[512], hex[65];
    db_path(path, sizeof path, "abc.txt");
    FILE *f = fopen(path, "w");
    fputs("abc", f);
    fclose(f);
    ck_assert_int_eq(octic_sha256_file(path, hex), OCTIC_OK);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    db_path(path, sizeof path, "missing");
    ck_assert_int_eq(octic_sha256_file(path, hex), OCTIC_ERR_IO);
}
END_TEST

START_TEST(test_default_path) {
    char buf[512];
    setenv("XDG_DATA_HOME", "/x/data", 1);
    ck_assert_int_eq(octic_db_default_path(buf, sizeof buf), OCTIC_OK);
    ck_assert_str_eq(buf, "/x/data/octiscope/results.sqlite");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    ck_assert_int_eq(octic_db_default_path(buf, sizeof buf), OCTIC_OK);
    ck_assert_str_eq(buf, "/home/u/.local/share/octiscope/results.sqlite");
}
END_TEST

static Suite *db_suite(void) {
    Suite *s = suite_create("results_db");
    TCase *tc = tcase_create("db");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_schema_and_run);
    tcase_add_test(tc, test_foreign_keys_enforced);
    tcase_add_test(tc, test_newer_schema_refused);
    tcase_add_test(tc, test_killed_run_is_interrupted);
    tcase_add_test(tc, test_concurrent_writers);
    tcase_add_test(tc, test_read_only_file);
    tcase_add_test(tc, test_full_disk);
    tcase_add_test(tc, test_results_kept_when_not_recorded);
    tcase_add_test(tc, test_sha256);
    tcase_add_test(tc, test_default_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(db_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
