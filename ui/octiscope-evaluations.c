/* The evaluations view (see octiscope-evaluations.h). */
#include "octiscope-evaluations.h"
#include "octiscope-export.h"

#include <math.h>
#include <string.h>

#include "background.h"
#include "backend.h"
#include "chooser.h"
#include "octiscope-plot.h"
#include "octiscope-run-item.h"
#include "results_db.h"
#include "studio-device.h"

/* ---- the queue: one job at a time in a worker ------------------------------------------ */

typedef struct {
    OctiscopeEvalJob *job;
    char *db; /* resolved database path, or NULL */
    /* shared with the worker */
    GMutex lock;
    char phase[96];
    gint64 done, total, phase_started;
    volatile gint cancel;
    volatile gint recorded; /* the worker recorded the run (state running): the table shows it */
    gboolean listed;        /* the table was read again since */
    /* outcome */
    octic_status status;
    octiscope_eval_outcome outcome;
    char *error;
    gboolean finished;
} running_job;

static void running_job_free(running_job *r) {
    octiscope_eval_job_free(r->job);
    g_free(r->db), g_free(r->error);
    g_mutex_clear(&r->lock);
    g_free(r);
}

struct _OctiscopeEvaluations {
    AdwBin parent_instance;
    GtkDropDown *protocol_filter;
    GtkSearchEntry *search_entry;
    GtkToggleButton *compare_toggle;
    GtkLabel *db_label, *details_title, *details_label;
    GtkButton *refresh_button, *export_button;
    GtkListBox *queue_list;
    GtkColumnView *runs_view;
    GtkGrid *compare_grid;
    OctiscopePlot *compare_plot, *classes_plot;

    char *db_path;
    char *shown_db; /* the database whose runs the table holds (NULL: none) */
    GListStore *runs;         /* OctiscopeRunItem, as read */
    GtkFilterListModel *filtered;
    GtkSingleSelection *selection;
    GCancellable *loading, *details;
    GQueue pending;           /* running_job, not started */
    running_job *current;
    GPtrArray *finished;      /* running_job, shown until dismissed */
    guint tick;
    guint reveal;             /* tick callback bringing the running row into view */
    GtkWidget *current_row;   /* the running run's row in the queue, or NULL */
};

G_DEFINE_TYPE(OctiscopeEvaluations, octiscope_evaluations, ADW_TYPE_BIN)

enum { SIGNAL_ERROR, SIGNAL_NOTICE, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void rebuild_queue(OctiscopeEvaluations *self);
static void start_next(OctiscopeEvaluations *self);

static void job_phase(void *user, const char *name) {
    running_job *r = user;
    g_mutex_lock(&r->lock);
    g_strlcpy(r->phase, name, sizeof r->phase);
    r->done = r->total = 0;
    r->phase_started = g_get_monotonic_time();
    g_mutex_unlock(&r->lock);
}

static void job_started(void *user, int64_t run_id, const char *protocol, const char *root) {
    running_job *r = user;
    g_atomic_int_set(&r->recorded, 1);
}

static int job_progress(void *user, int64_t done, int64_t total) {
    running_job *r = user;
    g_mutex_lock(&r->lock);
    r->done = done, r->total = total;
    g_mutex_unlock(&r->lock);
    return g_atomic_int_get(&r->cancel);
}

/* The run, in a thread of its own at a lower priority (nice 10, inherited by
 * the loader, k-NN and OpenMP threads it starts), on every core but the
 * window's (octic_cpu_threads, set by the application), so that a long
 * evaluation leaves the window responsive. */
static gpointer run_thread(gpointer data) {
    GTask *task = data;
    running_job *r = g_task_get_task_data(task);
    octiscope_background_lower_priority();
    octiscope_eval_request req = r->job->request;
    if (req.threads <= 0) req.threads = octic_cpu_threads(); /* image loaders */
    req.db = r->db;
    req.backend = octiscope_device_current(); /* the device preference (the CPU where CUDA cannot run) */
    req.phase = job_phase;
    req.progress = job_progress;
    req.started = job_started;
    req.user = r;
    r->status = octiscope_eval_run(&req, &r->outcome);
    if (r->status) r->error = g_strdup(octic_last_error());
    g_task_return_boolean(task, TRUE);
    g_object_unref(task);
    return NULL;
}

static void run_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeEvaluations *self = OCTISCOPE_EVALUATIONS(source);
    running_job *r = user_data;
    r->finished = TRUE;
    if (!self->queue_list) { /* the view was destroyed while the run finished */
        running_job_free(r);
        return;
    }
    if (self->current == r) self->current = NULL;
    g_ptr_array_add(self->finished, r);
    if (r->status && !r->outcome.cancelled) {
        g_autofree char *msg = g_strdup_printf("%s: %s", r->job->title, r->error);
        g_signal_emit(self, signals[SIGNAL_ERROR], 0, msg);
    }
    octiscope_evaluations_refresh(self);
    start_next(self);
    rebuild_queue(self);
    if (!self->current) g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
}

static void start_next(OctiscopeEvaluations *self) {
    if (self->current || g_queue_is_empty(&self->pending)) return;
    running_job *r = g_queue_pop_head(&self->pending);
    self->current = r;
    /* the database in force when the run starts (the preference may change
     * while runs wait); the row says so where it is not the one shown */
    g_free(r->db);
    r->db = self->db_path && *self->db_path ? g_strdup(self->db_path) : NULL;
    r->phase_started = g_get_monotonic_time();
    g_strlcpy(r->phase, "starting", sizeof r->phase);
    GTask *task = g_task_new(self, NULL, run_done, r);
    g_task_set_task_data(task, r, NULL);
    g_thread_unref(g_thread_new("octiscope-eval", run_thread, task)); /* the thread owns the task */
}

static void format_eta(char *buf, size_t len, double seconds) {
    if (seconds < 90)
        g_snprintf(buf, len, "%.0f s left", seconds);
    else if (seconds < 5400)
        g_snprintf(buf, len, "%.0f min left", seconds / 60);
    else
        g_snprintf(buf, len, "%.1f h left", seconds / 3600);
}

/* Row widgets of a job, kept on the row to update them from the tick. */
typedef struct {
    GtkLabel *status;
    GtkProgressBar *bar;
    running_job *job;
    OctiscopeEvaluations *view;
} queue_row;

static void update_row(queue_row *q) {
    running_job *r = q->job;
    char text[1200], eta[48] = ""; /* a failure's reason in full: it names files and what was expected */
    double frac = 0;
    if (r->finished) {
        /* a run recorded in another database than the one shown says which */
        const char *shown = q->view->db_path && *q->view->db_path ? q->view->db_path : NULL;
        g_autofree char *where = g_strcmp0(r->db, shown) == 0 ? g_strdup("")
                                 : g_strdup_printf(" in %s", r->db ? r->db : "the default database");
        if (!r->status)
            g_snprintf(text, sizeof text, "done: %s %.2f (run %lld%s)%s%s",
                       octiscope_eval_main_metric(r->job->request.protocol), r->outcome.main_value,
                       (long long)r->outcome.run_id, where, r->outcome.notes[0] ? "; " : "", r->outcome.notes);
        else if (r->outcome.unsaved) /* the numbers of a finished run are shown even when the disk refused them */
            g_snprintf(text, sizeof text, "not recorded: %s %.2f (run %lld): %s",
                       octiscope_eval_main_metric(r->job->request.protocol), r->outcome.main_value,
                       (long long)r->outcome.run_id, r->error);
        else if (r->outcome.run_id) /* recorded: its number, to find it in the table */
            g_snprintf(text, sizeof text, "%s (run %lld%s): %s", r->outcome.cancelled ? "cancelled" : "failed",
                       (long long)r->outcome.run_id, where, r->error);
        else /* failed before it was recorded (a file that is not a model, a wrong data set) */
            g_snprintf(text, sizeof text, "%s: %s", r->outcome.cancelled ? "cancelled" : "failed", r->error);
        frac = r->status ? 0 : 1;
    } else {
        g_mutex_lock(&r->lock); /* the phase and counts are the worker's */
        if (!r->phase[0]) {
            g_snprintf(text, sizeof text, "queued");
        } else if (r->total > 0) {
            frac = (double)r->done / (double)r->total;
            double elapsed = (g_get_monotonic_time() - r->phase_started) / 1e6;
            if (r->done > 0) format_eta(eta, sizeof eta, elapsed * (r->total - r->done) / r->done);
            g_snprintf(text, sizeof text, "%s: %lld of %lld%s%s", r->phase, (long long)r->done, (long long)r->total,
                       eta[0] ? ", " : "", eta);
        } else {
            g_snprintf(text, sizeof text, "%s", r->phase);
        }
        g_mutex_unlock(&r->lock);
    }
    gtk_label_set_label(q->status, text);
    if (r->finished && r->status && !r->outcome.cancelled) gtk_widget_add_css_class(GTK_WIDGET(q->status), "error");
    gtk_progress_bar_set_fraction(q->bar, CLAMP(frac, 0, 1));
}

static gboolean on_tick(gpointer data) {
    OctiscopeEvaluations *self = data;
    /* a run just recorded appears in the table as running (and so in the
     * comparison and an export) */
    if (self->current && g_atomic_int_get(&self->current->recorded) && !self->current->listed) {
        self->current->listed = TRUE;
        octiscope_evaluations_refresh(self);
    }
    for (GtkWidget *row = gtk_widget_get_first_child(GTK_WIDGET(self->queue_list)); row;
         row = gtk_widget_get_next_sibling(row)) {
        queue_row *q = g_object_get_data(G_OBJECT(row), "queue-row");
        if (q && q->job == self->current) update_row(q);
    }
    return G_SOURCE_CONTINUE;
}

static void on_cancel_job(GtkButton *button, OctiscopeEvaluations *self) {
    running_job *r = g_object_get_data(G_OBJECT(button), "job");
    if (r == self->current) {
        g_atomic_int_set(&r->cancel, 1);
    } else if (g_queue_remove(&self->pending, r)) {
        running_job_free(r);
    } else {
        g_ptr_array_remove(self->finished, r); /* which frees it */
    }
    rebuild_queue(self);
}

/* The running run's row scrolled into the queue's view (the queue is built
 * again as runs end, which would leave it at the top, the running row out of
 * sight below the finished ones): at the first frame where the rows have
 * their sizes. */
static gboolean reveal_current(GtkWidget *list, GdkFrameClock *clock, gpointer data) {
    OctiscopeEvaluations *self = data;
    GtkWidget *sw = gtk_widget_get_ancestor(list, GTK_TYPE_SCROLLED_WINDOW);
    if (self->current_row && gtk_widget_get_height(self->current_row) == 0 && gtk_widget_get_mapped(list))
        return G_SOURCE_CONTINUE; /* not laid out yet */
    self->reveal = 0;
    graphene_rect_t b; /* the row where the scrolled window shows it */
    if (!self->current_row || !sw || !gtk_widget_compute_bounds(self->current_row, sw, &b)) return G_SOURCE_REMOVE;
    GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(sw));
    double v = gtk_adjustment_get_value(adj), view = gtk_widget_get_height(sw);
    if (b.origin.y < 0)
        gtk_adjustment_set_value(adj, v + b.origin.y);
    else if (b.origin.y + b.size.height > view)
        gtk_adjustment_set_value(adj, v + b.origin.y + b.size.height - view);
    return G_SOURCE_REMOVE;
}

static void rebuild_queue(OctiscopeEvaluations *self) {
    self->current_row = NULL;
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->queue_list)))) gtk_list_box_remove(self->queue_list, child);
    GPtrArray *all = g_ptr_array_new();
    for (guint i = 0; i < self->finished->len; i++) g_ptr_array_add(all, g_ptr_array_index(self->finished, i));
    if (self->current) g_ptr_array_add(all, self->current);
    for (GList *l = self->pending.head; l; l = l->next) g_ptr_array_add(all, l->data);
    for (guint i = 0; i < all->len; i++) {
        running_job *r = g_ptr_array_index(all, i);
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
        gtk_widget_set_margin_start(box, 12), gtk_widget_set_margin_end(box, 6);
        gtk_widget_set_margin_top(box, 6), gtk_widget_set_margin_bottom(box, 6);
        GtkWidget *texts = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        gtk_widget_set_hexpand(texts, TRUE);
        GtkWidget *title = gtk_label_new(r->job->title);
        gtk_label_set_xalign(GTK_LABEL(title), 0);
        gtk_label_set_ellipsize(GTK_LABEL(title), PANGO_ELLIPSIZE_END);
        queue_row *q = g_new0(queue_row, 1);
        q->job = r;
        q->view = self;
        q->status = GTK_LABEL(gtk_label_new(NULL));
        gtk_label_set_xalign(q->status, 0);
        gtk_label_set_wrap(q->status, TRUE);
        gtk_widget_add_css_class(GTK_WIDGET(q->status), "caption");
        q->bar = GTK_PROGRESS_BAR(gtk_progress_bar_new());
        gtk_box_append(GTK_BOX(texts), title);
        gtk_box_append(GTK_BOX(texts), GTK_WIDGET(q->status));
        gtk_box_append(GTK_BOX(texts), GTK_WIDGET(q->bar));
        GtkWidget *cancel = gtk_button_new_from_icon_name(r->finished ? "window-close-symbolic" : "process-stop-symbolic");
        gtk_widget_set_tooltip_text(cancel, r->finished ? "Dismiss" : r == self->current ? "Cancel the run" : "Remove from the queue");
        gtk_widget_set_valign(cancel, GTK_ALIGN_CENTER);
        gtk_widget_add_css_class(cancel, "flat");
        g_object_set_data(G_OBJECT(cancel), "job", r);
        g_signal_connect(cancel, "clicked", G_CALLBACK(on_cancel_job), self);
        gtk_box_append(GTK_BOX(box), texts);
        gtk_box_append(GTK_BOX(box), cancel);
        GtkWidget *row = gtk_list_box_row_new();
        gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
        g_object_set_data_full(G_OBJECT(row), "queue-row", q, g_free);
        update_row(q);
        gtk_list_box_append(self->queue_list, row);
        if (r == self->current) self->current_row = row;
    }
    gtk_widget_set_visible(GTK_WIDGET(self->queue_list), all->len > 0);
    g_ptr_array_unref(all);
    if (self->current_row && !self->reveal)
        self->reveal = gtk_widget_add_tick_callback(GTK_WIDGET(self->queue_list), reveal_current, self, NULL);
}

void octiscope_evaluations_queue(OctiscopeEvaluations *self, GPtrArray *jobs) {
    g_return_if_fail(OCTISCOPE_IS_EVALUATIONS(self));
    while (jobs->len) { /* in the order given */
        running_job *r = g_new0(running_job, 1);
        g_mutex_init(&r->lock);
        r->job = g_ptr_array_steal_index(jobs, 0);
        g_queue_push_tail(&self->pending, r);
    }
    start_next(self);
    rebuild_queue(self);
}

gboolean octiscope_evaluations_cancel_all(OctiscopeEvaluations *self) {
    g_return_val_if_fail(OCTISCOPE_IS_EVALUATIONS(self), FALSE);
    running_job *r;
    while ((r = g_queue_pop_head(&self->pending))) running_job_free(r);
    if (self->current) g_atomic_int_set(&self->current->cancel, 1);
    if (self->queue_list) rebuild_queue(self);
    return self->current != NULL;
}

char *octiscope_evaluations_describe_runs(OctiscopeEvaluations *self, guint *n_queued) {
    g_return_val_if_fail(OCTISCOPE_IS_EVALUATIONS(self), NULL);
    guint queued = g_queue_get_length(&self->pending);
    if (n_queued) *n_queued = queued;
    if (!self->current && !queued) return NULL;
    GString *s = g_string_new(NULL);
    if (self->current) g_string_append_printf(s, "“%s” is running", self->current->job->title);
    if (queued)
        g_string_append_printf(s, "%s%u more %s queued", self->current ? "; " : "", queued,
                               queued == 1 ? "is" : "are");
    return g_string_free(s, FALSE);
}

gboolean octiscope_evaluations_is_busy(OctiscopeEvaluations *self) {
    return self->current != NULL || !g_queue_is_empty(&self->pending) || self->loading != NULL;
}

/* ---- reading the database ------------------------------------------------------------------ */

typedef struct {
    char *db;
    GPtrArray *items; /* OctiscopeRunItem */
    char *resolved;
} load_job;

static void load_job_free(load_job *j) {
    g_free(j->db), g_free(j->resolved);
    if (j->items) g_ptr_array_unref(j->items);
    g_free(j);
}

static void load_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    load_job *j = data;
    char path[4096];
    const gboolean is_default = !j->db; /* its folders are made with it */
    if (!j->db) {
        if (octic_db_default_path(path, sizeof path)) {
            g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", octic_last_error());
            return;
        }
        j->db = g_strdup(path);
    }
    j->resolved = g_strdup(j->db);
    octic_db *db;
    octic_status st = octic_db_open_read(j->db, &db); /* read-only where it must be: another user's */
    if (st == OCTIC_ERR_MISSING && (is_default || octic_db_folder_exists(j->db))) {
        /* no database there yet (or an empty file): no runs, until the first is recorded */
        j->items = g_ptr_array_new_with_free_func(g_object_unref);
        g_task_return_boolean(task, TRUE);
        return;
    }
    if (st != OCTIC_OK) {
        if (st == OCTIC_ERR_MISSING)
            g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
                                    "%s: its folder does not exist (create it first for a new database)", j->db);
        else
            g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", octic_last_error());
        return;
    }
    octic_db_run_info *runs = NULL;
    int n = 0;
    if (octic_db_list_runs(db, NULL, &runs, &n)) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", octic_last_error());
        octic_db_close(db);
        return;
    }
    j->items = g_ptr_array_new_with_free_func(g_object_unref);
    for (int i = 0; i < n; i++) {
        const char *metric = strncmp(runs[i].protocol, "seg", 3) == 0 ? "mIoU" : "top1";
        double value = NAN;
        octic_db_row *rows = NULL;
        int nr = 0;
        if (!octic_db_run_rows(db, runs[i].id, OCTIC_DB_METRICS, &rows, &nr))
            for (int k = 0; k < nr; k++)
                if (strcmp(rows[k].name, metric) == 0) value = rows[k].value;
        free(rows);
        OctiscopeRunItem *item =
            octiscope_run_item_new(runs[i].id, runs[i].protocol, runs[i].model, octiscope_kind_of_architecture(runs[i].model),
                                   runs[i].dataset, runs[i].state, metric, value, runs[i].started, runs[i].message);
        octiscope_run_item_set_source(item, runs[i].checkpoint, runs[i].sha256);
        g_ptr_array_add(j->items, item);
    }
    free(runs);
    octic_db_close(db);
    g_task_return_boolean(task, TRUE);
}

static void update_compare(OctiscopeEvaluations *self);

static void load_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeEvaluations *self = OCTISCOPE_EVALUATIONS(source);
    if (g_task_get_cancellable(G_TASK(res)) != self->loading) return;
    g_clear_object(&self->loading);
    load_job *j = g_task_get_task_data(G_TASK(res));
    g_autoptr(GError) error = NULL;
    if (!g_task_propagate_boolean(G_TASK(res), &error)) {
        if (g_strcmp0(self->shown_db, j->resolved) != 0) { /* another database's runs are not this one's */
            g_list_store_remove_all(self->runs);
            g_clear_pointer(&self->shown_db, g_free);
            update_compare(self);
        }
        gtk_label_set_label(self->db_label, error->message);
        g_signal_emit(self, signals[SIGNAL_ERROR], 0, error->message);
        if (!octiscope_evaluations_is_busy(self)) g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
        return;
    }
    gtk_label_set_label(self->db_label, j->resolved);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->db_label), j->resolved);
    g_free(self->shown_db), self->shown_db = g_strdup(j->resolved);
    /* the selected run stays selected (and its details shown) across the reload */
    OctiscopeRunItem *was = gtk_single_selection_get_selected_item(self->selection);
    gint64 selected_id = was ? octiscope_run_item_get_id(was) : -1;
    g_list_store_splice(self->runs, 0, g_list_model_get_n_items(G_LIST_MODEL(self->runs)), j->items->pdata,
                        j->items->len);
    GListModel *shown = G_LIST_MODEL(self->selection);
    for (guint i = 0; selected_id >= 0 && i < g_list_model_get_n_items(shown); i++) {
        g_autoptr(OctiscopeRunItem) r = g_list_model_get_item(shown, i);
        if (octiscope_run_item_get_id(r) == selected_id) {
            gtk_single_selection_set_selected(self->selection, i);
            break;
        }
    }
    update_compare(self);
    if (!octiscope_evaluations_is_busy(self)) g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
}

void octiscope_evaluations_refresh(OctiscopeEvaluations *self) {
    g_return_if_fail(OCTISCOPE_IS_EVALUATIONS(self));
    if (self->loading) g_cancellable_cancel(self->loading);
    g_clear_object(&self->loading);
    self->loading = g_cancellable_new();
    load_job *j = g_new0(load_job, 1);
    j->db = self->db_path && *self->db_path ? g_strdup(self->db_path) : NULL;
    GTask *task = g_task_new(self, self->loading, load_done, NULL);
    g_task_set_task_data(task, j, (GDestroyNotify)load_job_free);
    g_task_run_in_thread(task, load_thread);
    g_object_unref(task);
}

void octiscope_evaluations_set_database(OctiscopeEvaluations *self, const char *path) {
    g_return_if_fail(OCTISCOPE_IS_EVALUATIONS(self));
    g_free(self->db_path);
    self->db_path = g_strdup(path);
    octiscope_evaluations_refresh(self);
    rebuild_queue(self); /* a finished run's row names its database where it is not this one */
}

const char *octiscope_evaluations_get_database(OctiscopeEvaluations *self) {
    return self->db_path;
}

GListModel *octiscope_evaluations_get_runs(OctiscopeEvaluations *self) {
    return G_LIST_MODEL(self->selection);
}

/* ---- filters, compare ------------------------------------------------------------------------ */

static gboolean run_visible(gpointer item, gpointer data) {
    OctiscopeEvaluations *self = data;
    OctiscopeRunItem *r = item;
    guint p = gtk_drop_down_get_selected(self->protocol_filter);
    if (p > 0 && p != GTK_INVALID_LIST_POSITION) {
        /* the protocol, with the published settings or its -custom variant */
        GtkStringObject *s = gtk_drop_down_get_selected_item(self->protocol_filter);
        const char *want = gtk_string_object_get_string(s), *have = octiscope_run_item_get_protocol(r);
        size_t n = strlen(want);
        if (strncmp(have, want, n) != 0 || (have[n] && strcmp(have + n, "-custom") != 0)) return FALSE;
    }
    const char *text = gtk_editable_get_text(GTK_EDITABLE(self->search_entry));
    if (text && *text) {
        g_autofree char *needle = g_utf8_casefold(text, -1);
        g_autofree char *hay = g_utf8_casefold(octiscope_run_item_get_model(r), -1);
        g_autofree char *hay2 = g_utf8_casefold(octiscope_run_item_get_dataset(r), -1);
        /* and the checkpoint's file name: what the library calls the model ("demo-hybrid") */
        const char *ckpt = octiscope_run_item_get_checkpoint(r);
        g_autofree char *base = ckpt ? g_path_get_basename(ckpt) : NULL;
        g_autofree char *hay3 = base ? g_utf8_casefold(base, -1) : NULL;
        if (!strstr(hay, needle) && !strstr(hay2, needle) && !(hay3 && strstr(hay3, needle))) return FALSE;
    }
    return TRUE;
}

static void on_filter_changed(OctiscopeEvaluations *self) {
    gtk_filter_changed(gtk_filter_list_model_get_filter(self->filtered), GTK_FILTER_CHANGE_DIFFERENT);
    update_compare(self);
}

static const char *const kinds[3] = {"standard", "hybrid", "invariant"};

/* What the three kinds of a comparison share: family, depth, width and
 * patch, with the kind taken out ("deit3 depth 24 dim 1024 patch 16"). The
 * database names a model by its published architecture or by a description
 * with its kind in it ("deit3 hybrid depth 4 dim 128 patch 16"). */
static char *architecture_key(const char *model, const char *kind) {
    const octic_arch *a = octic_arch_find(model);
    if (a)
        return g_strdup_printf("%s depth %d dim %d patch %d", octic_family_name(a->config.family), a->config.depth,
                               a->config.dim, a->config.patch);
    g_autofree char *word = g_strdup_printf(" %s ", kind);
    g_autofree char *padded = g_strdup_printf(" %s ", model);
    char *at = strstr(padded, word);
    if (at) memmove(at, at + strlen(word) - 1, strlen(at + strlen(word) - 1) + 1);
    return g_strstrip(g_strdup(padded));
}

/* The latest finished run of each kind per (protocol, data set,
 * architecture), among the runs shown: only runs of one architecture stand
 * side by side. */
static void update_compare(OctiscopeEvaluations *self) {
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->compare_grid)))) gtk_grid_remove(self->compare_grid, child);
    GPtrArray *groups = g_ptr_array_new_with_free_func(g_free);
    GArray *values = g_array_new(FALSE, FALSE, sizeof(double)); /* groups x 3 */
    GListModel *shown = G_LIST_MODEL(self->filtered);
    for (guint i = 0; i < g_list_model_get_n_items(shown); i++) { /* newest first */
        g_autoptr(OctiscopeRunItem) r = g_list_model_get_item(shown, i);
        if (g_strcmp0(octiscope_run_item_get_state(r), "done") || isnan(octiscope_run_item_get_value(r))) continue;
        g_autofree char *arch = architecture_key(octiscope_run_item_get_model(r), octiscope_run_item_get_kind(r));
        g_autofree char *key = g_strdup_printf("%s\n%s\n%s", octiscope_run_item_get_protocol(r),
                                               octiscope_run_item_get_dataset(r), arch);
        guint g = 0;
        while (g < groups->len && strcmp(g_ptr_array_index(groups, g), key)) g++;
        if (g == groups->len) {
            g_ptr_array_add(groups, g_steal_pointer(&key));
            double nan3[3] = {NAN, NAN, NAN};
            g_array_append_vals(values, nan3, 3);
        }
        int k = 0;
        while (k < 3 && strcmp(kinds[k], octiscope_run_item_get_kind(r))) k++;
        double *v = &g_array_index(values, double, g * 3 + k);
        if (k < 3 && isnan(*v)) *v = octiscope_run_item_get_value(r);
    }
    const char *heads[] = {"protocol", "data set", "architecture", "standard", "hybrid", "invariant"};
    for (int c = 0; c < 6; c++) {
        GtkWidget *l = gtk_label_new(heads[c]);
        gtk_label_set_xalign(GTK_LABEL(l), 0);
        gtk_widget_add_css_class(l, "heading");
        gtk_grid_attach(self->compare_grid, l, c, 0, 1, 1);
    }
    char **labels = g_new0(char *, groups->len + 1);
    double *bars = g_new(double, 3 * MAX(groups->len, 1));
    for (guint g = 0; g < groups->len; g++) {
        g_auto(GStrv) parts = g_strsplit(g_ptr_array_index(groups, g), "\n", 3);
        labels[g] = g_strdup_printf("%s · %s · %s", parts[0], parts[1], parts[2]);
        for (int c = 0; c < 3; c++) {
            GtkWidget *l = gtk_label_new(parts[c]);
            gtk_label_set_xalign(GTK_LABEL(l), 0);
            gtk_grid_attach(self->compare_grid, l, c, (int)g + 1, 1, 1);
        }
        double base = g_array_index(values, double, g * 3);
        for (int k = 0; k < 3; k++) {
            double v = g_array_index(values, double, g * 3 + k);
            bars[k * groups->len + g] = v;
            g_autofree char *text = isnan(v) ? g_strdup("—")
                                    : k > 0 && !isnan(base) ? g_strdup_printf("%.2f (Δ %+.2f)", v, v - base)
                                                            : g_strdup_printf("%.2f", v);
            GtkWidget *l = gtk_label_new(text);
            gtk_label_set_xalign(GTK_LABEL(l), 0);
            gtk_widget_add_css_class(l, "numeric");
            gtk_grid_attach(self->compare_grid, l, 3 + k, (int)g + 1, 1, 1);
        }
    }
    octiscope_plot_set_data(self->compare_plot, OCTISCOPE_PLOT_BARS, groups->len ? 3 : 0, (int)groups->len, bars,
                            kinds, (const char *const *)labels);
    octiscope_plot_set_axis_labels(self->compare_plot, NULL, "top-1 / mIoU (%)");
    g_strfreev(labels);
    g_free(bars);
    g_array_unref(values);
    g_ptr_array_unref(groups);
}

void octiscope_evaluations_set_compare(OctiscopeEvaluations *self, gboolean compare) {
    gtk_toggle_button_set_active(self->compare_toggle, compare);
}

/* ---- the selected run ---------------------------------------------------------------------- */

typedef struct {
    char *db;
    gint64 id;
    GString *text;
    GArray *iou;      /* (2, classes) per-class IoU of up to two classifiers, NaN: none */
    GPtrArray *names; /* class names */
    char classifiers[2][32];
    int n_classifiers;
} details_job;

static void details_job_free(details_job *j) {
    g_free(j->db);
    if (j->text) g_string_free(j->text, TRUE);
    if (j->iou) g_array_unref(j->iou);
    if (j->names) g_ptr_array_unref(j->names);
    g_free(j);
}

static void details_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    details_job *j = data;
    char path[4096];
    if (!j->db && !octic_db_default_path(path, sizeof path)) j->db = g_strdup(path);
    octic_db *db;
    if (!j->db || octic_db_open_read(j->db, &db)) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", octic_last_error());
        return;
    }
    j->text = g_string_new(NULL);
    j->iou = g_array_new(FALSE, FALSE, sizeof(double));
    j->names = g_ptr_array_new_with_free_func(g_free);
    octic_db_row *rows;
    int n;
    if (!octic_db_run_rows(db, j->id, OCTIC_DB_METRICS, &rows, &n)) {
        for (int i = 0; i < n; i++) g_string_append_printf(j->text, "%s = %.4g\n", rows[i].name, rows[i].value);
        free(rows);
    }
    if (!octic_db_run_rows(db, j->id, OCTIC_DB_TRIALS, &rows, &n)) {
        for (int i = 0; i < n; i++)
            g_string_append_printf(j->text, "%s %s: %s %.2f%s\n", rows[i].name, rows[i].text, rows[i].extra,
                                   rows[i].value, rows[i].index ? "  (kept)" : "");
        free(rows);
    }
    if (!octic_db_run_rows(db, j->id, OCTIC_DB_CLASSES, &rows, &n)) {
        // per class (the first classifier's order), one series per classifier (at most two)
        for (int i = 0; i < n; i++) {
            int c = 0;
            while (c < j->n_classifiers && strcmp(j->classifiers[c], rows[i].name)) c++;
            if (c == j->n_classifiers) {
                if (c == 2) continue;
                g_strlcpy(j->classifiers[c], rows[i].name, sizeof j->classifiers[c]);
                j->n_classifiers++;
            }
            if (c == 0) g_ptr_array_add(j->names, g_strdup(rows[i].text[0] ? rows[i].text : "?"));
        }
        guint nc = j->names->len;
        g_array_set_size(j->iou, 2 * nc);
        for (guint k = 0; k < 2 * nc; k++) g_array_index(j->iou, double, k) = NAN;
        for (int i = 0, row0 = 0; i < n; i++) {
            int c = strcmp(j->classifiers[0], rows[i].name) == 0 ? 0 : strcmp(j->classifiers[1], rows[i].name) == 0 ? 1 : -1;
            if (c < 0) continue;
            int pos = c == 0 ? row0++ : -1;
            if (c == 1) /* find the class by index among the first classifier's rows */
                for (int k = 0, p = 0; k < n; k++)
                    if (strcmp(rows[k].name, j->classifiers[0]) == 0) {
                        if (rows[k].index == rows[i].index) pos = p;
                        p++;
                    }
            if (pos >= 0 && (guint)pos < nc) g_array_index(j->iou, double, c * nc + pos) = rows[i].value;
        }
        free(rows);
    }
    if (!octic_db_run_rows(db, j->id, OCTIC_DB_PARAMS, &rows, &n)) {
        g_string_append(j->text, "\nparameters:");
        for (int i = 0; i < n; i++) g_string_append_printf(j->text, " %s=%s", rows[i].name, rows[i].text);
        free(rows);
    }
    octic_db_close(db);
    g_task_return_boolean(task, TRUE);
}

static void details_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeEvaluations *self = OCTISCOPE_EVALUATIONS(source);
    if (g_task_get_cancellable(G_TASK(res)) != self->details) return;
    g_clear_object(&self->details);
    details_job *j = g_task_get_task_data(G_TASK(res));
    g_autoptr(GError) error = NULL;
    if (!g_task_propagate_boolean(G_TASK(res), &error)) {
        gtk_label_set_label(self->details_label, error->message);
        return;
    }
    gtk_label_set_label(self->details_label, j->text->str);
    gboolean classes = j->names->len > 0;
    gtk_widget_set_visible(GTK_WIDGET(self->classes_plot), classes);
    if (classes) {
        const char *series[2] = {j->classifiers[0], j->classifiers[1]};
        g_ptr_array_add(j->names, NULL);
        octiscope_plot_set_data(self->classes_plot, OCTISCOPE_PLOT_BARS, j->n_classifiers, (int)j->names->len - 1,
                                (double *)j->iou->data, series, (const char *const *)j->names->pdata);
        octiscope_plot_set_axis_labels(self->classes_plot, "class", "IoU (%)");
    }
}

static void on_selected(GtkSingleSelection *sel, GParamSpec *pspec, OctiscopeEvaluations *self) {
    OctiscopeRunItem *r = gtk_single_selection_get_selected_item(sel);
    if (self->details) g_cancellable_cancel(self->details);
    g_clear_object(&self->details);
    gtk_widget_set_visible(GTK_WIDGET(self->classes_plot), FALSE);
    if (!r) {
        gtk_label_set_label(self->details_title, "Select a run to see its numbers.");
        gtk_label_set_label(self->details_label, "");
        return;
    }
    g_autofree char *title = g_strdup_printf("Run %lld: %s of %s (%s) on %s, %s%s%s", (long long)octiscope_run_item_get_id(r),
                                             octiscope_run_item_get_protocol(r), octiscope_run_item_get_model(r),
                                             octiscope_run_item_get_kind(r), octiscope_run_item_get_dataset(r),
                                             octiscope_run_item_get_state(r),
                                             *octiscope_run_item_get_message(r) ? ": " : "",
                                             octiscope_run_item_get_message(r));
    gtk_label_set_label(self->details_title, title);
    self->details = g_cancellable_new();
    details_job *j = g_new0(details_job, 1);
    j->db = self->db_path && *self->db_path ? g_strdup(self->db_path) : NULL;
    j->id = octiscope_run_item_get_id(r);
    GTask *task = g_task_new(self, self->details, details_done, NULL);
    g_task_set_task_data(task, j, (GDestroyNotify)details_job_free);
    g_task_run_in_thread(task, details_thread);
    g_object_unref(task);
}

void octiscope_evaluations_select(OctiscopeEvaluations *self, guint position) {
    gtk_single_selection_set_selected(self->selection, position);
}

/* ---- export ------------------------------------------------------------------------------- */

/* A CSV field and its separator, quoted when it needs to be (as octic results export). */
static void csv_field(GString *csv, const char *s, char sep) {
    if (!strpbrk(s, ",\"\n\r")) {
        g_string_append(csv, s);
    } else {
        g_string_append_c(csv, '"');
        for (; *s; s++) {
            if (*s == '"') g_string_append_c(csv, '"');
            g_string_append_c(csv, *s);
        }
        g_string_append_c(csv, '"');
    }
    g_string_append_c(csv, sep);
}

gboolean octiscope_evaluations_export(OctiscopeEvaluations *self, const char *path, GError **error) {
    GString *csv = g_string_new("run,protocol,model,kind,dataset,state,metric,value,started,checkpoint,sha256\n");
    GListModel *shown = gtk_single_selection_get_model(self->selection); /* filtered, in the table's order */
    for (guint i = 0; i < g_list_model_get_n_items(shown); i++) {
        g_autoptr(OctiscopeRunItem) r = g_list_model_get_item(shown, i);
        double v = octiscope_run_item_get_value(r);
        g_string_append_printf(csv, "%lld,", (long long)octiscope_run_item_get_id(r));
        const char *text[] = {octiscope_run_item_get_protocol(r), octiscope_run_item_get_model(r),
                              octiscope_run_item_get_kind(r),     octiscope_run_item_get_dataset(r),
                              octiscope_run_item_get_state(r),    octiscope_run_item_get_metric(r)};
        for (size_t k = 0; k < G_N_ELEMENTS(text); k++) csv_field(csv, text[k] ? text[k] : "", ',');
        if (!isnan(v)) g_string_append_printf(csv, "%.6g", v);
        g_string_append_c(csv, ',');
        const char *tail[] = {octiscope_run_item_get_started(r), octiscope_run_item_get_checkpoint(r),
                              octiscope_run_item_get_sha256(r)};
        for (size_t k = 0; k < G_N_ELEMENTS(tail); k++) csv_field(csv, tail[k] ? tail[k] : "", k + 1 < G_N_ELEMENTS(tail) ? ',' : '\n');
    }
    gboolean ok = octiscope_write_file(path, csv->str, csv->len, error);
    g_string_free(csv, TRUE);
    return ok;
}

static void on_export_response(GtkNativeDialog *chooser, int response, OctiscopeEvaluations *self) {
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(chooser));
        g_autofree char *path = g_file_get_path(f);
        g_autoptr(GError) error = NULL;
        if (!path || !octiscope_evaluations_export(self, path, &error)) {
            g_signal_emit(self, signals[SIGNAL_ERROR], 0, error ? error->message : "only local files can be written");
        } else {
            guint n = g_list_model_get_n_items(gtk_single_selection_get_model(self->selection));
            g_autofree char *name = g_file_get_basename(f);
            g_autofree char *msg = g_strdup_printf("%u run%s exported to %s", n, n == 1 ? "" : "s", name);
            g_signal_emit(self, signals[SIGNAL_NOTICE], 0, msg);
        }
    }
}

static void on_export(GtkButton *button, OctiscopeEvaluations *self) {
    GtkFileChooserNative *chooser = gtk_file_chooser_native_new(
        "Export Runs", GTK_WINDOW(gtk_widget_get_root(GTK_WIDGET(self))), GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
    gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(chooser), "runs.csv");
    octiscope_chooser_show(chooser, G_CALLBACK(on_export_response), self);
}

static void on_refresh(GtkButton *button, OctiscopeEvaluations *self) {
    octiscope_evaluations_refresh(self);
}

/* ---- columns ------------------------------------------------------------------------------ */

static void setup_label(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
    GtkWidget *l = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    gtk_label_set_ellipsize(GTK_LABEL(l), PANGO_ELLIPSIZE_END);
    gtk_list_item_set_child(li, l);
}

static void bind_label(GtkSignalListItemFactory *f, GtkListItem *li, gpointer prop) {
    GObject *item = gtk_list_item_get_item(li);
    GValue v = G_VALUE_INIT;
    g_object_get_property(item, prop, &v);
    g_autofree char *text = G_VALUE_HOLDS_STRING(&v) ? g_value_dup_string(&v)
                                                     : g_strdup_printf("%lld", (long long)g_value_get_int64(&v));
    gtk_label_set_label(GTK_LABEL(gtk_list_item_get_child(li)), text ? text : "");
    g_value_unset(&v);
}

static void add_column(GtkColumnView *view, const char *title, const char *prop, gboolean expand, gboolean numeric,
                       const char *sort_prop) {
    GtkListItemFactory *f = gtk_signal_list_item_factory_new();
    g_signal_connect(f, "setup", G_CALLBACK(setup_label), NULL);
    g_signal_connect(f, "bind", G_CALLBACK(bind_label), (gpointer)prop);
    GtkColumnViewColumn *c = gtk_column_view_column_new(title, f);
    gtk_column_view_column_set_expand(c, expand);
    gtk_column_view_column_set_resizable(c, TRUE);
    GtkExpression *e = gtk_property_expression_new(OCTISCOPE_TYPE_RUN_ITEM, NULL, sort_prop ? sort_prop : prop);
    GtkSorter *sorter = numeric ? GTK_SORTER(gtk_numeric_sorter_new(e)) : GTK_SORTER(gtk_string_sorter_new(e));
    gtk_column_view_column_set_sorter(c, sorter);
    g_object_unref(sorter);
    gtk_column_view_append_column(view, c);
    g_object_unref(c);
}

/* ---- class ---------------------------------------------------------------------------------- */

static void dispose(GObject *object) {
    OctiscopeEvaluations *self = OCTISCOPE_EVALUATIONS(object);
    if (self->tick) g_source_remove(self->tick), self->tick = 0;
    if (self->reveal) gtk_widget_remove_tick_callback(GTK_WIDGET(self->queue_list), self->reveal), self->reveal = 0;
    self->current_row = NULL;
    if (self->loading) g_cancellable_cancel(self->loading);
    if (self->details) g_cancellable_cancel(self->details);
    g_clear_object(&self->loading);
    g_clear_object(&self->details);
    if (self->current) g_atomic_int_set(&self->current->cancel, 1); /* the worker finishes on its own */
    running_job *r;
    while ((r = g_queue_pop_head(&self->pending))) running_job_free(r);
    /* taking the columns down re-sorts the runs, which moves the selection:
     * its handler must not run on widgets being destroyed (Gtk-CRITICALs, and
     * a database read started for a view that is gone) */
    if (self->selection) g_signal_handlers_disconnect_by_data(self->selection, self);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_EVALUATIONS);
    g_clear_object(&self->selection);
    g_clear_object(&self->filtered);
    g_clear_object(&self->runs);
    G_OBJECT_CLASS(octiscope_evaluations_parent_class)->dispose(object);
}

static void finalize(GObject *object) {
    OctiscopeEvaluations *self = OCTISCOPE_EVALUATIONS(object);
    g_ptr_array_unref(self->finished);
    g_free(self->db_path);
    g_free(self->shown_db);
    G_OBJECT_CLASS(octiscope_evaluations_parent_class)->finalize(object);
}

static void octiscope_evaluations_class_init(OctiscopeEvaluationsClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    G_OBJECT_CLASS(klass)->finalize = finalize;
    g_type_ensure(OCTISCOPE_TYPE_PLOT);
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-evaluations.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, OctiscopeEvaluations, name)
    CHILD(protocol_filter);
    CHILD(search_entry);
    CHILD(compare_toggle);
    CHILD(db_label);
    CHILD(details_title);
    CHILD(details_label);
    CHILD(refresh_button);
    CHILD(export_button);
    CHILD(queue_list);
    CHILD(runs_view);
    CHILD(compare_grid);
    CHILD(compare_plot);
    CHILD(classes_plot);
#undef CHILD
    signals[SIGNAL_ERROR] = g_signal_new("error", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, G_TYPE_STRING);
    signals[SIGNAL_NOTICE] = g_signal_new("notice", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 1, G_TYPE_STRING);
    signals[SIGNAL_FINISHED] =
        g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void octiscope_evaluations_init(OctiscopeEvaluations *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
    g_queue_init(&self->pending);
    self->finished = g_ptr_array_new_with_free_func((GDestroyNotify)running_job_free);
    self->runs = g_list_store_new(OCTISCOPE_TYPE_RUN_ITEM);
    add_column(self->runs_view, "Run", "id", FALSE, TRUE, NULL);
    add_column(self->runs_view, "Protocol", "protocol", FALSE, FALSE, NULL);
    add_column(self->runs_view, "Model", "model", TRUE, FALSE, NULL);
    add_column(self->runs_view, "Kind", "kind", FALSE, FALSE, NULL);
    add_column(self->runs_view, "Data set", "dataset", FALSE, FALSE, NULL);
    add_column(self->runs_view, "State", "state", FALSE, FALSE, NULL);
    add_column(self->runs_view, "Result", "value-label", FALSE, TRUE, "value");
    add_column(self->runs_view, "Started", "started", FALSE, FALSE, NULL);
    GtkFilter *filter = GTK_FILTER(gtk_custom_filter_new(run_visible, self, NULL));
    self->filtered = gtk_filter_list_model_new(G_LIST_MODEL(g_object_ref(self->runs)), filter);
    GtkSortListModel *sorted = gtk_sort_list_model_new(G_LIST_MODEL(g_object_ref(self->filtered)),
                                                       g_object_ref(gtk_column_view_get_sorter(self->runs_view)));
    self->selection = gtk_single_selection_new(G_LIST_MODEL(sorted));
    gtk_single_selection_set_autoselect(self->selection, FALSE);
    gtk_single_selection_set_selected(self->selection, GTK_INVALID_LIST_POSITION);
    gtk_column_view_set_model(self->runs_view, GTK_SELECTION_MODEL(self->selection));
    g_signal_connect(self->selection, "notify::selected-item", G_CALLBACK(on_selected), self);
    g_signal_connect_swapped(self->protocol_filter, "notify::selected", G_CALLBACK(on_filter_changed), self);
    g_signal_connect_swapped(self->search_entry, "search-changed", G_CALLBACK(on_filter_changed), self);
    g_signal_connect(self->refresh_button, "clicked", G_CALLBACK(on_refresh), self);
    g_signal_connect(self->export_button, "clicked", G_CALLBACK(on_export), self);
    self->tick = g_timeout_add(250, on_tick, self);
}
