/* The results database over SQLite (see results_db.h). */
#include "results_db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "octic-config.h"

struct octic_db {
    sqlite3 *sql;
    char *path;
    char machine[128];
};

/* ---- schema and migrations -------------------------------------------------
 * migrations[i] takes a database from user_version i to i + 1. A new schema
 * version appends one entry; released entries never change. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE models ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  architecture TEXT NOT NULL,"
    "  family TEXT NOT NULL, kind TEXT NOT NULL,"
    "  depth INTEGER NOT NULL, dim INTEGER NOT NULL, heads INTEGER NOT NULL, patch INTEGER NOT NULL,"
    "  params INTEGER NOT NULL, gflops REAL NOT NULL,"
    "  added TEXT NOT NULL);"
    "CREATE TABLE checkpoints ("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  path TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,"
    "  seen TEXT NOT NULL,"
    "  UNIQUE (path, model_id));"
    "CREATE INDEX checkpoints_path ON checkpoints(path);"
    "CREATE TABLE datasets ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL, root TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, classes INTEGER NOT NULL);"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id),"
    "  dataset_id INTEGER REFERENCES datasets(id),"
    "  checkpoint TEXT NOT NULL,"
    "  protocol TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('queued','running','done','failed','interrupted','cancelled')),"
    "  created TEXT NOT NULL, started TEXT, ended TEXT,"
    "  machine TEXT NOT NULL, pid INTEGER, pid_start INTEGER,"
    "  engine TEXT NOT NULL, message TEXT);"
    "CREATE INDEX runs_model ON runs(model_id);"
    "CREATE TABLE run_params ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, name));"
    "CREATE TABLE metrics ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL, value REAL NOT NULL,"
    "  PRIMARY KEY (run_id, name));"
    "CREATE TABLE trials ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  classifier TEXT NOT NULL, setting TEXT NOT NULL, metric TEXT NOT NULL,"
    "  value REAL NOT NULL, selected INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX trials_run ON trials(run_id);"
    "CREATE TABLE class_results ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  classifier TEXT NOT NULL, class_index INTEGER NOT NULL, class_name TEXT,"
    "  metric TEXT NOT NULL, value REAL NOT NULL,"
    "  PRIMARY KEY (run_id, classifier, class_index, metric));",
};

/* The schema version of this octic: the number of migrations. */
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%SZ','now')"

/* ---- errors ------------------------------------------------------------------ */

static const char *sql_hint(octic_db *db, int rc, int saved_errno) {
    int sys = db && db->sql ? sqlite3_system_errno(db->sql) : 0;
    if (sys == 0) sys = saved_errno; /* some write paths do not record it */
    switch (rc & 0xff) {
    case SQLITE_READONLY: return "the database is read-only (the file or its folder is not writable)";
    case SQLITE_FULL: return "the disk is full";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "another process kept the database locked for too long";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return "the file is not a results database or is damaged";
    case SQLITE_CANTOPEN: return "cannot open the file (missing folder or no permission)";
    case SQLITE_IOERR:
        if (sys == EFBIG) return "the file size limit was reached";
        if (sys == ENOSPC) return "the disk is full";
        if (sys == EROFS || sys == EACCES || sys == EPERM) return "the file system is read-only";
        return "an I/O error";
    default: return NULL;
    }
}

static octic_status db_fail(octic_db *db, int rc, const char *what) {
    const char *hint = sql_hint(db, rc, errno);
    const char *msg = db && db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc);
    if (hint)
        return octic_fail(OCTIC_ERR_IO, "%s: %s: %s (SQLite: %s)", db->path, what, hint, msg);
    return octic_fail(OCTIC_ERR_IO, "%s: %s: SQLite: %s", db->path, what, msg);
}

static octic_status exec(octic_db *db, const char *sql, const char *what) {
    int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? OCTIC_OK : db_fail(db, rc, what);
}

static octic_status begin(octic_db *db, const char *what) {
    /* IMMEDIATE takes the write lock now, so the busy timeout applies and two
     * writers never deadlock upgrading a read lock. */
    int rc = SQLITE_BUSY;
    for (int attempt = 0; attempt < 4 && (rc & 0xff) == SQLITE_BUSY; attempt++)
        rc = sqlite3_exec(db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? OCTIC_OK : db_fail(db, rc, what);
}

static octic_status commit(octic_db *db, const char *what) {
    int rc = SQLITE_BUSY;
    for (int attempt = 0; attempt < 4 && (rc & 0xff) == SQLITE_BUSY; attempt++)
        rc = sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return OCTIC_OK;
    octic_status st = db_fail(db, rc, what);
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* Rolls back after a failure, keeping the failure's message. */
static octic_status rollback(octic_db *db, octic_status st) {
    if (!sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static octic_status prepare(octic_db *db, const char *sql, sqlite3_stmt **st, const char *what) {
    int rc = sqlite3_prepare_v2(db->sql, sql, -1, st, NULL);
    return rc == SQLITE_OK ? OCTIC_OK : db_fail(db, rc, what);
}

/* Steps a statement that returns no rows, then finalizes it. */
static octic_status step_done(octic_db *db, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OCTIC_OK : db_fail(db, rc, what);
}

/* ---- process identity -------------------------------------------------------- */

/* The start time of a process in clock ticks since boot (/proc/PID/stat field
 * 22), so that a recycled pid is not mistaken for the run's process; 0 when
 * unknown. */
static long long process_start(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return 0;
    p++;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    return p ? atoll(p + 1) : 0;
}

static int process_alive(long pid, long long start) {
    if (pid <= 0) return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
    long long now = process_start(pid);
    return now == 0 || start == 0 || now == start;
}

/* ---- open / close ------------------------------------------------------------ */

octic_status octic_db_default_path(char *buf, size_t len) {
    const char *xdg = getenv("XDG_DATA_HOME");
    int n;
    if (xdg && xdg[0] == '/') {
        n = snprintf(buf, len, "%s/octiscope/results.sqlite", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || !home[0])
            return octic_fail(OCTIC_ERR_ARG, "no results database given and neither XDG_DATA_HOME nor "
                                             "HOME is set; pass --db FILE");
        n = snprintf(buf, len, "%s/.local/share/octiscope/results.sqlite", home);
    }
    if (n < 0 || (size_t)n >= len) return octic_fail(OCTIC_ERR_ARG, "results database path too long");
    return OCTIC_OK;
}

/* mkdir -p of the folder holding path. */
static octic_status make_parent(const char *path) {
    char dir[PATH_MAX];
    if (strlen(path) >= sizeof dir) return octic_fail(OCTIC_ERR_ARG, "%s: path too long", path);
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return OCTIC_OK;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return octic_fail(OCTIC_ERR_IO, "%s: cannot create the folder %s: %s", path, dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return octic_fail(OCTIC_ERR_IO, "%s: cannot create the folder %s: %s", path, dir, strerror(errno));
    return OCTIC_OK;
}

int octic_db_schema_version(octic_db *db) {
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db->sql, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* journal_mode=WAL takes an exclusive lock, for which SQLite does not wait
 * out another connection's (a process creating the same new database at
 * the same moment): tried again for up to 30 s. */
static octic_status switch_to_wal(octic_db *db) {
    int rc = SQLITE_BUSY;
    for (int attempt = 0; attempt < 600 && ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED); attempt++) {
        if (attempt) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        rc = sqlite3_exec(db->sql, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    }
    return rc == SQLITE_OK ? OCTIC_OK : db_fail(db, rc, "switching to WAL");
}

/* A file of another program's (tables, none of them ours) is refused before
 * anything is written to it: not switched to WAL, no tables added. Ours at
 * version 0 is empty; at any later version it has the runs table. Unless
 * empty_ok, a file with no tables (empty, or SQLite's empty database) holds
 * no runs: reported, not given a schema. */
static octic_status check_ours(octic_db *db, int empty_ok) {
    sqlite3_stmt *q = NULL;
    octic_status st = prepare(db,
                              "SELECT count(*), coalesce(sum(type = 'table' AND name = 'runs'), 0) FROM sqlite_master",
                              &q, "reading the schema");
    if (st != OCTIC_OK) return st;
    int rc = sqlite3_step(q);
    long long objects = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    long long runs = rc == SQLITE_ROW ? sqlite3_column_int64(q, 1) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) return db_fail(db, rc, "reading the schema");
    if (objects > 0 && runs == 0)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: an SQLite database of another program (%lld table%s or index%s, no 'runs' table): "
                          "expected an Octiscope results database; it was left as it is",
                          db->path, objects, objects == 1 ? "" : "s", objects == 1 ? "" : "es");
    if (objects == 0 && !empty_ok)
        return octic_fail(OCTIC_ERR_MISSING, "%s: an empty file, no results database yet (octic eval --db %s "
                                             "records its runs into one)",
                          db->path, db->path);
    return OCTIC_OK;
}

static octic_status migrate(octic_db *db) {
    const int latest = SCHEMA_VERSION;
    int v = octic_db_schema_version(db);
    if (v == latest) return OCTIC_OK;
    if (v < 0) return db_fail(db, sqlite3_errcode(db->sql), "reading the schema version");
    if (v > latest)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: results database schema version %d is newer than this octic's (%d); "
                          "use a newer octic",
                          db->path, v, latest);
    octic_status st = begin(db, "upgrading the schema");
    if (st != OCTIC_OK) return st;
    v = octic_db_schema_version(db); /* another process may have migrated meanwhile */
    for (; v < latest; v++) {
        char what[64];
        snprintf(what, sizeof what, "migrating the schema from version %d", v);
        if ((st = exec(db, migrations[v], what)) != OCTIC_OK) return rollback(db, st);
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if ((st = exec(db, pragma, what)) != OCTIC_OK) return rollback(db, st);
    }
    return commit(db, "upgrading the schema");
}

/* Runs this machine left "running" whose process is gone become interrupted. */
static octic_status mark_stale_runs(octic_db *db) {
    sqlite3_stmt *q = NULL;
    octic_status st = prepare(db, "SELECT id, pid, pid_start FROM runs WHERE state = 'running' AND machine = ?",
                              &q, "looking for interrupted runs");
    if (st != OCTIC_OK) return st;
    sqlite3_bind_text(q, 1, db->machine, -1, SQLITE_STATIC);
    int64_t stale[256];
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < 256) {
        long pid = (long)sqlite3_column_int64(q, 1);
        long long start = sqlite3_column_int64(q, 2);
        if (!process_alive(pid, start)) stale[n++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    if (n == 0) return OCTIC_OK;
    if ((st = begin(db, "marking interrupted runs")) != OCTIC_OK) return st;
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *u = NULL;
        st = prepare(db, "UPDATE runs SET state = 'interrupted', ended = COALESCE(ended, " NOW_SQL "),"
                         " message = 'the process stopped before the run finished'"
                         " WHERE id = ? AND state = 'running'",
                     &u, "marking interrupted runs");
        if (st != OCTIC_OK) return rollback(db, st);
        sqlite3_bind_int64(u, 1, stale[i]);
        if ((st = step_done(db, u, "marking interrupted runs")) != OCTIC_OK) return rollback(db, st);
    }
    return commit(db, "marking interrupted runs");
}

/* A handle on path, not yet open. */
static octic_db *db_new(const char *path) {
    octic_db *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return NULL;
    }
    if (gethostname(db->machine, sizeof db->machine - 1) != 0) strcpy(db->machine, "unknown");
    return db;
}

int octic_db_folder_exists(const char *path) {
    char dir[PATH_MAX];
    if (strlen(path) >= sizeof dir) return 0;
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 1;
    slash[slash == dir] = '\0';
    struct stat sb;
    return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_default_path(const char *path) {
    char def[PATH_MAX];
    return octic_db_default_path(def, sizeof def) == OCTIC_OK && strcmp(def, path) == 0;
}

/* create: make the file, and for the default database its folders; else
 * the file must exist and hold tables (an empty file is no database yet). */
static octic_status db_open(const char *path, int create, octic_db **out) {
    *out = NULL;
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode))
        return octic_fail(OCTIC_ERR_ARG, "%s: a folder, expected a results database file (such as %s/results.sqlite)",
                          path, path);
    octic_status st;
    if (!exists && !create)
        return octic_fail(OCTIC_ERR_MISSING, "%s: no results database there (octic eval --db %s records its runs "
                                             "into one)",
                          path, path);
    if (!exists && is_default_path(path)) {
        if ((st = make_parent(path)) != OCTIC_OK) return st;
    } else if (!exists && !octic_db_folder_exists(path)) {
        /* a mistyped --db is not a new folder to record into */
        return octic_fail(OCTIC_ERR_IO, "%s: its folder does not exist (create it first for a new database)", path);
    }
    octic_db *db = db_new(path);
    if (!db) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    int rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), NULL);
    if (rc != SQLITE_OK) {
        st = db_fail(db, rc, "cannot open the results database");
        octic_db_close(db);
        return st;
    }
    sqlite3_extended_result_codes(db->sql, 1);
    sqlite3_busy_timeout(db->sql, 30000);
    /* journal_mode=WAL persists in the file; on a read-only file it cannot be
     * set, which the first write then reports. */
    if ((st = check_ours(db, create)) != OCTIC_OK ||
        (st = exec(db, "PRAGMA foreign_keys = ON", "enabling foreign keys")) != OCTIC_OK ||
        (st = switch_to_wal(db)) != OCTIC_OK ||
        (st = exec(db, "PRAGMA synchronous = NORMAL", "setting synchronous")) != OCTIC_OK ||
        (st = migrate(db)) != OCTIC_OK || (st = mark_stale_runs(db)) != OCTIC_OK) {
        octic_db_close(db);
        return st;
    }
    *out = db;
    return OCTIC_OK;
}

octic_status octic_db_open(const char *path, octic_db **out) { return db_open(path, 1, out); }

/* "file:" + path with the characters a URI gives a meaning to escaped. */
static int file_uri(char *buf, size_t len, const char *path, const char *query) {
    size_t n = (size_t)snprintf(buf, len, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c && n + 4 < len; c++)
        n += (size_t)(*c == '?' || *c == '#' || *c == '%' ? snprintf(buf + n, len - n, "%%%02X", *c)
                                                          : snprintf(buf + n, len - n, "%c", *c));
    return n + strlen(query) + 1 < len && snprintf(buf + n, len - n, "%s", query) > 0;
}

octic_status octic_db_open_read(const char *path, octic_db **out) {
    octic_status st = db_open(path, 0, out);
    if (st == OCTIC_OK || st == OCTIC_ERR_MISSING) return st;
    /* only where this process may not write the file or its folder (the
     * journal files live beside it) is it opened read-only */
    char *dir = strdup(path);
    if (!dir) return st;
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = '\0';
    int writable = access(path, W_OK) == 0 && access(slash ? dir : ".", W_OK) == 0;
    free(dir);
    if (writable || access(path, R_OK) != 0) return st;
    char first[2048];
    snprintf(first, sizeof first, "%s", octic_last_error());

    octic_db *db = db_new(path);
    if (!db) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    char uri[8192];
    /* a WAL database whose folder cannot hold its -shm file opens only as
     * immutable: what is on disk, without the journal's locks */
    static const char *const queries[] = {"?mode=ro", "?mode=ro&immutable=1"};
    for (int i = 0; i < 2; i++) {
        if (db->sql) sqlite3_close_v2(db->sql), db->sql = NULL;
        if (!file_uri(uri, sizeof uri, path, queries[i])) break;
        if (sqlite3_open_v2(uri, &db->sql, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) continue;
        sqlite3_extended_result_codes(db->sql, 1);
        sqlite3_busy_timeout(db->sql, 30000);
        if (sqlite3_exec(db->sql, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) continue;
        const int latest = SCHEMA_VERSION;
        int v = octic_db_schema_version(db);
        if ((st = check_ours(db, 1)) == OCTIC_OK && v != latest)
            st = octic_fail(OCTIC_ERR_UNSUPPORTED,
                            "%s: read-only, and its schema version %d is not this octic's (%d), which would need "
                            "to write it",
                            path, v, latest);
        if (st != OCTIC_OK) { /* it opened: this is what is wrong with it */
            octic_db_close(db);
            return st;
        }
        *out = db;
        return OCTIC_OK;
    }
    octic_db_close(db);
    return octic_fail(OCTIC_ERR_IO, "%s", first);
}

void octic_db_close(octic_db *db) {
    if (!db) return;
    sqlite3_close_v2(db->sql);
    free(db->path);
    free(db);
}

const char *octic_db_path(const octic_db *db) { return db->path; }

octic_status octic_db_integrity(octic_db *db, char *buf, size_t len) {
    sqlite3_stmt *q = NULL;
    octic_status st = prepare(db, "PRAGMA integrity_check", &q, "checking integrity");
    if (st != OCTIC_OK) return st;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? OCTIC_OK : db_fail(db, rc, "checking integrity");
}

/* ---- models ------------------------------------------------------------------- */

octic_status octic_sha256_file(const char *path, char hex[65]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return octic_fail(OCTIC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        close(fd);
        return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory hashing", path);
    }
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return octic_fail(OCTIC_ERR_IO, "%s: read failed while hashing: %s", path, strerror(e));
        }
        if (n == 0) break;
        sha256_update(&ctx, (size_t)n, buf);
    }
    free(buf);
    close(fd);
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof digest, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return OCTIC_OK;
}

int octic_db_cached_hash(octic_db *db, const char *path, int64_t size, int64_t mtime, char hex[65]) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql,
                           "SELECT m.sha256 FROM checkpoints c JOIN models m ON m.id = c.model_id"
                           " WHERE c.path = ? AND c.size = ? AND c.mtime = ? ORDER BY c.seen DESC LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, size);
    sqlite3_bind_int64(q, 3, mtime);
    int found = 0;
    if (sqlite3_step(q) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(q, 0);
        if (h && strlen(h) == 64) {
            memcpy(hex, h, 65);
            found = 1;
        }
    }
    sqlite3_finalize(q);
    return found;
}

octic_status octic_db_hash_file(octic_db *db, const char *path, char hex[65]) {
    struct stat sb;
    if (stat(path, &sb) != 0) return octic_fail(OCTIC_ERR_IO, "%s: %s", path, strerror(errno));
    if (db && octic_db_cached_hash(db, path, (int64_t)sb.st_size, (int64_t)sb.st_mtime, hex)) return OCTIC_OK;
    return octic_sha256_file(path, hex);
}

octic_status octic_db_add_model(octic_db *db, const octic_db_model *m, int64_t *id) {
    octic_status st = begin(db, "recording the model");
    if (st != OCTIC_OK) return st;
    sqlite3_stmt *q = NULL;
    st = prepare(db,
                 "INSERT INTO models (sha256, architecture, family, kind, depth, dim, heads, patch, params,"
                 " gflops, added) VALUES (?,?,?,?,?,?,?,?,?,?," NOW_SQL ")"
                 " ON CONFLICT(sha256) DO UPDATE SET heads = excluded.heads WHERE models.heads = 0",
                 &q, "recording the model");
    if (st != OCTIC_OK) return rollback(db, st);
    sqlite3_bind_text(q, 1, m->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, m->architecture, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, m->family, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, m->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, m->depth);
    sqlite3_bind_int(q, 6, m->dim);
    sqlite3_bind_int(q, 7, m->heads);
    sqlite3_bind_int(q, 8, m->patch);
    sqlite3_bind_int64(q, 9, m->params);
    sqlite3_bind_double(q, 10, m->gflops);
    if ((st = step_done(db, q, "recording the model")) != OCTIC_OK) return rollback(db, st);
    if ((st = prepare(db, "SELECT id FROM models WHERE sha256 = ?", &q, "recording the model")) != OCTIC_OK)
        return rollback(db, st);
    sqlite3_bind_text(q, 1, m->sha256, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) return rollback(db, db_fail(db, rc, "recording the model"));
    if (m->path) {
        st = prepare(db,
                     "INSERT INTO checkpoints (model_id, path, size, mtime, seen) VALUES (?,?,?,?," NOW_SQL ")"
                     " ON CONFLICT(path, model_id) DO UPDATE SET size = excluded.size,"
                     " mtime = excluded.mtime, seen = excluded.seen",
                     &q, "recording the checkpoint path");
        if (st != OCTIC_OK) return rollback(db, st);
        sqlite3_bind_int64(q, 1, *id);
        sqlite3_bind_text(q, 2, m->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, m->size);
        sqlite3_bind_int64(q, 4, m->mtime);
        if ((st = step_done(db, q, "recording the checkpoint path")) != OCTIC_OK) return rollback(db, st);
    }
    return commit(db, "recording the model");
}

octic_status octic_db_add_dataset(octic_db *db, const char *name, const char *root, const char *kind,
                                  int classes, int64_t *id) {
    octic_status st = begin(db, "recording the data set");
    if (st != OCTIC_OK) return st;
    sqlite3_stmt *q = NULL;
    st = prepare(db,
                 "INSERT INTO datasets (name, root, kind, classes) VALUES (?,?,?,?)"
                 " ON CONFLICT(root) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
                 " classes = excluded.classes",
                 &q, "recording the data set");
    if (st != OCTIC_OK) return rollback(db, st);
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, root, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, classes);
    if ((st = step_done(db, q, "recording the data set")) != OCTIC_OK) return rollback(db, st);
    if ((st = prepare(db, "SELECT id FROM datasets WHERE root = ?", &q, "recording the data set")) != OCTIC_OK)
        return rollback(db, st);
    sqlite3_bind_text(q, 1, root, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) return rollback(db, db_fail(db, rc, "recording the data set"));
    return commit(db, "recording the data set");
}

/* ---- runs ---------------------------------------------------------------------- */

static const char *const state_names[] = {"queued", "running", "done", "failed", "interrupted", "cancelled"};

const char *octic_run_state_name(octic_run_state s) {
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "unknown";
}

octic_status octic_db_start_run(octic_db *db, int64_t model_id, int64_t dataset_id, const char *protocol,
                                const octic_db_param *params, int n_params, int64_t *run_id) {
    const char *what = "recording the new run";
    const char *checkpoint = "";
    for (int i = 0; i < n_params; i++)
        if (strcmp(params[i].name, "model") == 0) checkpoint = params[i].value;
    octic_status st = begin(db, what);
    if (st != OCTIC_OK) return st;
    sqlite3_stmt *q = NULL;
    st = prepare(db,
                 "INSERT INTO runs (model_id, dataset_id, checkpoint, protocol, state, created, started,"
                 " machine, pid, pid_start, engine) VALUES (?,?,?,?,'running'," NOW_SQL "," NOW_SQL ",?,?,?,?)",
                 &q, what);
    if (st != OCTIC_OK) return rollback(db, st);
    char engine[64];
    snprintf(engine, sizeof engine, "octic %s (%s)", OCTIC_VERSION, OCTIC_BLAS);
    long pid = (long)getpid();
    sqlite3_bind_int64(q, 1, model_id);
    if (dataset_id > 0)
        sqlite3_bind_int64(q, 2, dataset_id);
    else
        sqlite3_bind_null(q, 2);
    sqlite3_bind_text(q, 3, checkpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, protocol, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, db->machine, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, pid);
    sqlite3_bind_int64(q, 7, process_start(pid));
    sqlite3_bind_text(q, 8, engine, -1, SQLITE_TRANSIENT);
    if ((st = step_done(db, q, what)) != OCTIC_OK) return rollback(db, st);
    *run_id = sqlite3_last_insert_rowid(db->sql);
    for (int i = 0; i < n_params; i++) {
        if ((st = prepare(db, "INSERT OR REPLACE INTO run_params (run_id, name, value) VALUES (?,?,?)", &q,
                          what)) != OCTIC_OK)
            return rollback(db, st);
        sqlite3_bind_int64(q, 1, *run_id);
        sqlite3_bind_text(q, 2, params[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, params[i].value ? params[i].value : "", -1, SQLITE_STATIC);
        if ((st = step_done(db, q, what)) != OCTIC_OK) return rollback(db, st);
    }
    return commit(db, what);
}

octic_status octic_db_finish_run(octic_db *db, int64_t run_id, const octic_db_metric *metrics, int n_metrics,
                                 const octic_db_trial *trials, int n_trials,
                                 const octic_db_class_result *classes, int n_classes, const char *message) {
    char what[64];
    snprintf(what, sizeof what, "recording the results of run %lld", (long long)run_id);
    octic_status st = begin(db, what);
    if (st != OCTIC_OK) return st;
    sqlite3_stmt *m = NULL, *t = NULL, *c = NULL, *u = NULL;
    if ((st = prepare(db, "INSERT OR REPLACE INTO metrics (run_id, name, value) VALUES (?,?,?)", &m, what)) !=
            OCTIC_OK ||
        (st = prepare(db,
                      "INSERT INTO trials (run_id, classifier, setting, metric, value, selected)"
                      " VALUES (?,?,?,?,?,?)",
                      &t, what)) != OCTIC_OK ||
        (st = prepare(db,
                      "INSERT OR REPLACE INTO class_results (run_id, classifier, class_index, class_name,"
                      " metric, value) VALUES (?,?,?,?,?,?)",
                      &c, what)) != OCTIC_OK)
        goto fail;
    for (int i = 0; i < n_metrics; i++) {
        sqlite3_reset(m);
        sqlite3_bind_int64(m, 1, run_id);
        sqlite3_bind_text(m, 2, metrics[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_double(m, 3, metrics[i].value);
        int rc = sqlite3_step(m);
        if (rc != SQLITE_DONE) { st = db_fail(db, rc, what); goto fail; }
    }
    for (int i = 0; i < n_trials; i++) {
        sqlite3_reset(t);
        sqlite3_bind_int64(t, 1, run_id);
        sqlite3_bind_text(t, 2, trials[i].classifier, -1, SQLITE_STATIC);
        sqlite3_bind_text(t, 3, trials[i].setting, -1, SQLITE_STATIC);
        sqlite3_bind_text(t, 4, trials[i].metric, -1, SQLITE_STATIC);
        sqlite3_bind_double(t, 5, trials[i].value);
        sqlite3_bind_int(t, 6, trials[i].selected);
        int rc = sqlite3_step(t);
        if (rc != SQLITE_DONE) { st = db_fail(db, rc, what); goto fail; }
    }
    for (int i = 0; i < n_classes; i++) {
        sqlite3_reset(c);
        sqlite3_bind_int64(c, 1, run_id);
        sqlite3_bind_text(c, 2, classes[i].classifier, -1, SQLITE_STATIC);
        sqlite3_bind_int(c, 3, classes[i].class_index);
        if (classes[i].class_name)
            sqlite3_bind_text(c, 4, classes[i].class_name, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(c, 4);
        sqlite3_bind_text(c, 5, classes[i].metric, -1, SQLITE_STATIC);
        sqlite3_bind_double(c, 6, classes[i].value);
        int rc = sqlite3_step(c);
        if (rc != SQLITE_DONE) { st = db_fail(db, rc, what); goto fail; }
    }
    if ((st = prepare(db, "UPDATE runs SET state = 'done', ended = " NOW_SQL ", message = ? WHERE id = ?", &u,
                      what)) != OCTIC_OK)
        goto fail;
    if (message && *message)
        sqlite3_bind_text(u, 1, message, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(u, 1);
    sqlite3_bind_int64(u, 2, run_id);
    st = step_done(db, u, what);
    u = NULL;
    if (st != OCTIC_OK) goto fail;
    if (sqlite3_changes(db->sql) != 1) {
        st = octic_fail(OCTIC_ERR_MISSING, "%s: run %lld does not exist", db->path, (long long)run_id);
        goto fail;
    }
    sqlite3_finalize(m);
    sqlite3_finalize(t);
    sqlite3_finalize(c);
    return commit(db, what);
fail:
    sqlite3_finalize(m);
    sqlite3_finalize(t);
    sqlite3_finalize(c);
    sqlite3_finalize(u);
    return rollback(db, st);
}

octic_status octic_db_set_state(octic_db *db, int64_t run_id, octic_run_state state, const char *message) {
    char what[64];
    snprintf(what, sizeof what, "updating run %lld", (long long)run_id);
    octic_status st = begin(db, what);
    if (st != OCTIC_OK) return st;
    sqlite3_stmt *q = NULL;
    int ends = state != OCTIC_RUN_QUEUED && state != OCTIC_RUN_RUNNING;
    st = prepare(db,
                 ends ? "UPDATE runs SET state = ?, message = ?, ended = " NOW_SQL " WHERE id = ?"
                      : "UPDATE runs SET state = ?, message = ?, ended = NULL WHERE id = ?",
                 &q, what);
    if (st != OCTIC_OK) return rollback(db, st);
    sqlite3_bind_text(q, 1, octic_run_state_name(state), -1, SQLITE_STATIC);
    if (message)
        sqlite3_bind_text(q, 2, message, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 2);
    sqlite3_bind_int64(q, 3, run_id);
    if ((st = step_done(db, q, what)) != OCTIC_OK) return rollback(db, st);
    return commit(db, what);
}

octic_status octic_db_set_setting(octic_db *db, int64_t run_id, const char *protocol, const char *name,
                                  const char *value) {
    char what[64];
    snprintf(what, sizeof what, "updating run %lld", (long long)run_id);
    octic_status st = begin(db, what);
    if (st != OCTIC_OK) return st;
    sqlite3_stmt *q = NULL;
    if ((st = prepare(db, "UPDATE runs SET protocol = ? WHERE id = ?", &q, what)) != OCTIC_OK) return rollback(db, st);
    sqlite3_bind_text(q, 1, protocol, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, run_id);
    if ((st = step_done(db, q, what)) != OCTIC_OK) return rollback(db, st);
    if ((st = prepare(db, "INSERT INTO run_params (run_id, name, value) VALUES (?, ?, ?)"
                      " ON CONFLICT(run_id, name) DO UPDATE SET value = excluded.value", &q, what)) !=
        OCTIC_OK)
        return rollback(db, st);
    sqlite3_bind_int64(q, 1, run_id);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, value, -1, SQLITE_STATIC);
    if ((st = step_done(db, q, what)) != OCTIC_OK) return rollback(db, st);
    return commit(db, what);
}

octic_status octic_db_delete_run(octic_db *db, int64_t run_id) {
    char what[64];
    snprintf(what, sizeof what, "deleting run %lld", (long long)run_id);
    octic_status st = begin(db, what);
    if (st != OCTIC_OK) return st;
    sqlite3_stmt *q = NULL;
    if ((st = prepare(db, "DELETE FROM runs WHERE id = ?", &q, what)) != OCTIC_OK) return rollback(db, st);
    sqlite3_bind_int64(q, 1, run_id);
    if ((st = step_done(db, q, what)) != OCTIC_OK) return rollback(db, st);
    return commit(db, what);
}

/* ---- reading -------------------------------------------------------------------- */

static void copy_col(char *dst, size_t len, sqlite3_stmt *q, int col) {
    const unsigned char *s = sqlite3_column_text(q, col);
    snprintf(dst, len, "%s", s ? (const char *)s : "");
}

#define RUN_SELECT                                                                                      \
    "SELECT r.id, r.protocol, r.state, m.architecture, m.sha256, r.checkpoint, COALESCE(d.name, ''),"  \
    " COALESCE(r.started, ''), COALESCE(r.ended, ''), r.machine, r.engine, COALESCE(r.message, '')" \
    " FROM runs r JOIN models m ON m.id = r.model_id LEFT JOIN datasets d ON d.id = r.dataset_id"

static void read_run(sqlite3_stmt *q, octic_db_run_info *r) {
    r->id = sqlite3_column_int64(q, 0);
    copy_col(r->protocol, sizeof r->protocol, q, 1);
    copy_col(r->state, sizeof r->state, q, 2);
    copy_col(r->model, sizeof r->model, q, 3);
    copy_col(r->sha256, sizeof r->sha256, q, 4);
    copy_col(r->checkpoint, sizeof r->checkpoint, q, 5);
    copy_col(r->dataset, sizeof r->dataset, q, 6);
    copy_col(r->started, sizeof r->started, q, 7);
    copy_col(r->ended, sizeof r->ended, q, 8);
    copy_col(r->machine, sizeof r->machine, q, 9);
    copy_col(r->engine, sizeof r->engine, q, 10);
    copy_col(r->message, sizeof r->message, q, 11);
}

octic_status octic_db_list_runs(octic_db *db, const char *protocol, octic_db_run_info **out, int *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    octic_status st = prepare(db, RUN_SELECT " WHERE (?1 IS NULL OR r.protocol = ?1) ORDER BY r.id DESC", &q,
                              "listing runs");
    if (st != OCTIC_OK) return st;
    if (protocol) sqlite3_bind_text(q, 1, protocol, -1, SQLITE_STATIC);
    int cap = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            octic_db_run_info *grown = realloc(*out, (size_t)cap * sizeof **out);
            if (!grown) {
                sqlite3_finalize(q);
                return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory listing runs", db->path);
            }
            *out = grown;
        }
        read_run(q, &(*out)[(*n)++]);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? OCTIC_OK : db_fail(db, rc, "listing runs");
}

octic_status octic_db_get_run(octic_db *db, int64_t run_id, octic_db_run_info *out) {
    sqlite3_stmt *q = NULL;
    octic_status st = prepare(db, RUN_SELECT " WHERE r.id = ?", &q, "reading a run");
    if (st != OCTIC_OK) return st;
    sqlite3_bind_int64(q, 1, run_id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) read_run(q, out);
    sqlite3_finalize(q);
    if (rc == SQLITE_DONE)
        return octic_fail(OCTIC_ERR_MISSING, "%s: there is no run %lld (see 'octic results list')", db->path,
                          (long long)run_id);
    return rc == SQLITE_ROW ? OCTIC_OK : db_fail(db, rc, "reading a run");
}

octic_status octic_db_run_rows(octic_db *db, int64_t run_id, octic_db_table table, octic_db_row **out, int *n) {
    static const char *const sql[] = {
        "SELECT name, value, '', 0, 0 FROM run_params WHERE run_id = ? ORDER BY rowid",
        "SELECT name, '', '', value, 0 FROM metrics WHERE run_id = ? ORDER BY rowid",
        "SELECT classifier, setting, metric, value, selected FROM trials WHERE run_id = ? ORDER BY id",
        "SELECT classifier, COALESCE(class_name, ''), metric, value, class_index FROM class_results"
        " WHERE run_id = ? ORDER BY classifier, class_index",
    };
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    octic_status st = prepare(db, sql[table], &q, "reading a run");
    if (st != OCTIC_OK) return st;
    sqlite3_bind_int64(q, 1, run_id);
    int cap = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            octic_db_row *grown = realloc(*out, (size_t)cap * sizeof **out);
            if (!grown) {
                sqlite3_finalize(q);
                return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory reading a run", db->path);
            }
            *out = grown;
        }
        octic_db_row *r = &(*out)[(*n)++];
        copy_col(r->name, sizeof r->name, q, 0);
        copy_col(r->text, sizeof r->text, q, 1);
        copy_col(r->extra, sizeof r->extra, q, 2);
        r->value = sqlite3_column_double(q, 3);
        r->index = sqlite3_column_int(q, 4);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? OCTIC_OK : db_fail(db, rc, "reading a run");
}
