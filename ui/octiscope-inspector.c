/* The inspector (see octiscope-inspector.h). */
#include "octiscope-inspector.h"

#include <math.h>
#include <string.h>

#include "background.h"
#include "group.h"
#include "image.h"
#include "octiscope-export.h"
#include "octiscope-image-strip.h"

static const char *const copy_captions[8] = {"e", "r", "r²", "r³", "m", "mr", "mr²", "mr³"};

struct _OctiscopeInspector {
    AdwBin parent_instance;

    GtkLabel *image_label, *block_label;
    GtkDropDown *model_a, *model_b;
    GtkCheckButton *compare_check;
    GtkScale *block_scale;
    GtkAdjustment *block_adjustment;
    GtkStack *stack;
    OctiscopeImageStrip *copies_strip;
    OctiscopeModelPane *pane_a, *pane_b;

    OctiscopeModelStore *store;
    GBytes *image; /* (3, 224, 224) float in [0, 1] */
    char *image_path;
    GCancellable *load_cancellable;
    gboolean updating; /* setting the drop-downs from code */
};

G_DEFINE_TYPE(OctiscopeInspector, octiscope_inspector, ADW_TYPE_BIN)

enum { SIGNAL_ERROR, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

static OctiscopeModelEntry *selected_entry(GtkDropDown *dd) {
    gpointer item = gtk_drop_down_get_selected_item(dd);
    return item ? OCTISCOPE_MODEL_ENTRY(item) : NULL;
}

/* The slider spans the deeper model; the break of each octic model is marked. */
static void update_scale(OctiscopeInspector *self) {
    OctiscopeModelEntry *entries[2] = {selected_entry(self->model_a),
                                       gtk_check_button_get_active(self->compare_check) ? selected_entry(self->model_b) : NULL};
    int depth = 1;
    gtk_scale_clear_marks(self->block_scale);
    gtk_scale_add_mark(self->block_scale, 0, GTK_POS_BOTTOM, "embedding");
    int marked = -1;
    for (int i = 0; i < 2; i++) {
        if (!entries[i] || octiscope_model_entry_get_state(entries[i]) != OCTISCOPE_MODEL_READY) continue;
        const octic_config *c = octiscope_model_entry_get_config(entries[i]);
        depth = MAX(depth, c->depth);
        if (c->kind != OCTIC_KIND_STANDARD && c->break_layer != marked) {
            gtk_scale_add_mark(self->block_scale, c->break_layer, GTK_POS_BOTTOM, "break");
            marked = c->break_layer;
        }
    }
    for (int b = 1; b <= depth; b++) gtk_scale_add_mark(self->block_scale, b, GTK_POS_TOP, NULL);
    gtk_adjustment_set_upper(self->block_adjustment, depth);
}

static void update_block_label(OctiscopeInspector *self) {
    int b = octiscope_inspector_get_block(self);
    g_autofree char *text = b == 0 ? g_strdup("patch embedding") : g_strdup_printf("after block %d", b - 1); /* blocks.N, as in the command line */
    gtk_label_set_label(self->block_label, text);
}

static gboolean panes_busy(OctiscopeInspector *self) {
    return octiscope_model_pane_is_running(self->pane_a) ||
           (gtk_check_button_get_active(self->compare_check) && octiscope_model_pane_is_running(self->pane_b));
}

static void run_panes(OctiscopeInspector *self) {
    if (self->updating) return;
    update_scale(self);
    OctiscopeModelEntry *ea = selected_entry(self->model_a), *eb = selected_entry(self->model_b);
    octiscope_model_pane_run(self->pane_a, ea, self->image, OCTISCOPE_INPUT_SIZE);
    if (gtk_check_button_get_active(self->compare_check) && eb && eb == ea) /* it would run the same twice */
        octiscope_model_pane_show_message(self->pane_b, eb, "The same model as on the left: choose another to compare.");
    else if (gtk_check_button_get_active(self->compare_check))
        octiscope_model_pane_run(self->pane_b, eb, self->image, OCTISCOPE_INPUT_SIZE);
    else
        octiscope_model_pane_run(self->pane_b, NULL, NULL, 0);
    int b = octiscope_inspector_get_block(self);
    octiscope_model_pane_set_block(self->pane_a, b);
    octiscope_model_pane_set_block(self->pane_b, b);
}

/* Two models side by side: their equivariance charts on one scale, so that
 * 1e-7 beside 1e0 reads as such (each chart fitted its own decades). */
static void share_scale(OctiscopeInspector *self) {
    if (!gtk_check_button_get_active(self->compare_check) || !octiscope_model_pane_get_analysis(self->pane_a) ||
        !octiscope_model_pane_get_analysis(self->pane_b))
        return;
    OctiscopePlot *a = octiscope_model_pane_get_equivariance_plot(self->pane_a),
                  *b = octiscope_model_pane_get_equivariance_plot(self->pane_b);
    double alo, ahi, blo, bhi;
    if (!octiscope_plot_get_log_span(a, FALSE, &alo, &ahi) || !octiscope_plot_get_log_span(b, FALSE, &blo, &bhi))
        return;
    octiscope_plot_set_log_span(a, fmin(alo, blo), fmax(ahi, bhi));
    octiscope_plot_set_log_span(b, fmin(alo, blo), fmax(ahi, bhi));
}

static void on_pane_finished(OctiscopeModelPane *pane, OctiscopeInspector *self) {
    const char *err = octiscope_model_pane_get_error(pane);
    if (err) g_signal_emit(self, signals[SIGNAL_ERROR], 0, err);
    if (!panes_busy(self)) {
        share_scale(self);
        g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
    }
}

static void on_model_changed(GObject *dd, GParamSpec *pspec, OctiscopeInspector *self) {
    run_panes(self);
}

static void on_compare_toggled(GtkCheckButton *check, OctiscopeInspector *self) {
    run_panes(self);
}

static void on_block_changed(GtkAdjustment *adj, OctiscopeInspector *self) {
    int b = octiscope_inspector_get_block(self);
    octiscope_model_pane_set_block(self->pane_a, b);
    octiscope_model_pane_set_block(self->pane_b, b);
    update_block_label(self);
}

static void on_copy_activated(OctiscopeImageStrip *strip, int g, OctiscopeInspector *self) {
    octiscope_model_pane_set_copy(self->pane_a, g);
    octiscope_model_pane_set_copy(self->pane_b, g);
}

/* ---- the image ------------------------------------------------------------------------ */

typedef struct {
    char *path;
    GBytes *image;    /* (3, S, S) floats */
    guint8 *copies;   /* (8, S/2, S/2, 3) thumbnails of the copies */
} load_job;

static void load_job_free(load_job *job) {
    g_free(job->path);
    if (job->image) g_bytes_unref(job->image);
    g_free(job->copies);
    g_free(job);
}

static void load_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    octiscope_background_lower_priority(); /* a pool thread of background work only */
    load_job *job = data;
    const int S = OCTISCOPE_INPUT_SIZE, h = S / 2;
    octic_image img;
    octic_status st = octic_image_load(job->path, &img);
    float *x = g_malloc((gsize)3 * S * S * sizeof(float)), *moved = g_malloc((gsize)3 * S * S * sizeof(float));
    if (!st) {
        st = octic_preprocess(&img, OCTIC_TRANSFORM_CLASSIFY, S, 256, 0, x);
        octic_image_free(&img);
    }
    if (st) {
        g_free(x), g_free(moved);
        g_task_return_new_error(task, OCTISCOPE_ENGINE_ERROR, st, "%s", octic_last_error());
        return;
    }
    job->copies = g_malloc((gsize)8 * h * h * 3);
    for (int g = 0; g < 8; g++) {
        octic_group_act_image(moved, x, g, 3, S);
        guint8 *out = job->copies + (gsize)g * h * h * 3;
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < h; xx++)
                for (int c = 0; c < 3; c++) {
                    const float *p = moved + (gsize)c * S * S + (gsize)(2 * y) * S + 2 * xx;
                    float v = 0.25f * (p[0] + p[1] + p[S] + p[S + 1]);
                    out[((gsize)y * h + xx) * 3 + c] = (guint8)CLAMP(v * 255.0f + 0.5f, 0.0f, 255.0f);
                }
    }
    g_free(moved);
    job->image = g_bytes_new_take(x, (gsize)3 * S * S * sizeof(float));
    g_task_return_boolean(task, TRUE);
}

static void load_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeInspector *self = OCTISCOPE_INSPECTOR(source);
    GCancellable *cancellable = g_task_get_cancellable(G_TASK(res));
    g_autoptr(GError) error = NULL;
    load_job *job = g_task_get_task_data(G_TASK(res));
    gboolean ok = g_task_propagate_boolean(G_TASK(res), &error);
    if (cancellable != self->load_cancellable) return; /* a newer image was asked for */
    g_clear_object(&self->load_cancellable);
    if (!ok) {
        g_signal_emit(self, signals[SIGNAL_ERROR], 0, error->message);
        g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
        return;
    }
    g_clear_pointer(&self->image, g_bytes_unref);
    self->image = g_bytes_ref(job->image);
    g_free(self->image_path);
    self->image_path = g_strdup(job->path);
    g_autofree char *base = g_path_get_basename(job->path);
    gtk_label_set_label(self->image_label, base);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->image_label), job->path);
    const int h = OCTISCOPE_INPUT_SIZE / 2;
    GdkTexture *tex[8];
    for (int g = 0; g < 8; g++) tex[g] = octiscope_texture_from_rgb(job->copies + (gsize)g * h * h * 3, h, h);
    octiscope_image_strip_set_images(self->copies_strip, 8, tex, copy_captions);
    for (int g = 0; g < 8; g++) g_object_unref(tex[g]);
    if (octiscope_image_strip_get_selected(self->copies_strip) < 0) octiscope_image_strip_set_selected(self->copies_strip, 0);
    gtk_stack_set_visible_child_name(self->stack, "results");
    run_panes(self);
}

void octiscope_inspector_open_image(OctiscopeInspector *self, const char *path) {
    g_return_if_fail(OCTISCOPE_IS_INSPECTOR(self));
    g_return_if_fail(path != NULL);
    if (self->load_cancellable) g_cancellable_cancel(self->load_cancellable);
    g_clear_object(&self->load_cancellable);
    self->load_cancellable = g_cancellable_new();
    load_job *job = g_new0(load_job, 1);
    job->path = g_strdup(path);
    GTask *task = g_task_new(self, self->load_cancellable, load_done, NULL);
    g_task_set_task_data(task, job, (GDestroyNotify)load_job_free);
    g_task_run_in_thread(task, load_thread);
    g_object_unref(task);
}

const char *octiscope_inspector_get_image_path(OctiscopeInspector *self) {
    g_return_val_if_fail(OCTISCOPE_IS_INSPECTOR(self), NULL);
    return self->image_path;
}

/* ---- models, block, export ---------------------------------------------------------------- */

void octiscope_inspector_set_store(OctiscopeInspector *self, OctiscopeModelStore *store) {
    g_return_if_fail(OCTISCOPE_IS_INSPECTOR(self));
    g_set_object(&self->store, store);
    self->updating = TRUE;
    gtk_drop_down_set_model(self->model_a, G_LIST_MODEL(store));
    gtk_drop_down_set_model(self->model_b, G_LIST_MODEL(store));
    // start with a hybrid against an invariant model when the library has both
    guint pos;
    OctiscopeModelEntry *first = g_list_model_get_n_items(G_LIST_MODEL(store)) > 0
                                     ? g_list_model_get_item(G_LIST_MODEL(store), 0) : NULL;
    if (first && octiscope_model_store_find(store, octiscope_model_entry_get_path(first), &pos))
        gtk_drop_down_set_selected(self->model_a, pos);
    if (g_list_model_get_n_items(G_LIST_MODEL(store)) > 1) gtk_drop_down_set_selected(self->model_b, 1);
    g_clear_object(&first);
    self->updating = FALSE;
}

void octiscope_inspector_set_models(OctiscopeInspector *self, OctiscopeModelEntry *a, OctiscopeModelEntry *b) {
    g_return_if_fail(OCTISCOPE_IS_INSPECTOR(self));
    guint pa, pb;
    self->updating = TRUE;
    if (a && octiscope_model_store_find(self->store, octiscope_model_entry_get_path(a), &pa))
        gtk_drop_down_set_selected(self->model_a, pa);
    if (b && octiscope_model_store_find(self->store, octiscope_model_entry_get_path(b), &pb))
        gtk_drop_down_set_selected(self->model_b, pb);
    gtk_check_button_set_active(self->compare_check, b != NULL);
    self->updating = FALSE;
    run_panes(self);
}

void octiscope_inspector_set_block(OctiscopeInspector *self, int block) {
    g_return_if_fail(OCTISCOPE_IS_INSPECTOR(self));
    gtk_adjustment_set_value(self->block_adjustment, block);
}

int octiscope_inspector_get_block(OctiscopeInspector *self) {
    g_return_val_if_fail(OCTISCOPE_IS_INSPECTOR(self), 0);
    return (int)(gtk_adjustment_get_value(self->block_adjustment) + 0.5);
}

void octiscope_inspector_step_block(OctiscopeInspector *self, int delta) {
    octiscope_inspector_set_block(self, octiscope_inspector_get_block(self) + delta);
}

void octiscope_inspector_set_cmap(OctiscopeInspector *self, octiscope_cmap cmap) {
    g_return_if_fail(OCTISCOPE_IS_INSPECTOR(self));
    octiscope_model_pane_set_cmap(self->pane_a, cmap);
    octiscope_model_pane_set_cmap(self->pane_b, cmap);
}

OctiscopeModelPane *octiscope_inspector_get_pane(OctiscopeInspector *self, int i) {
    g_return_val_if_fail(OCTISCOPE_IS_INSPECTOR(self), NULL);
    return i == 0 ? self->pane_a : self->pane_b;
}

gboolean octiscope_inspector_is_busy(OctiscopeInspector *self) {
    g_return_val_if_fail(OCTISCOPE_IS_INSPECTOR(self), FALSE);
    return self->load_cancellable != NULL || panes_busy(self);
}

/* The block and the image in the names: exports of other blocks or images
 * into one folder keep each other's files. */
char *octiscope_inspector_export_prefix(OctiscopeInspector *self) {
    g_return_val_if_fail(OCTISCOPE_IS_INSPECTOR(self), NULL);
    g_autofree char *name = g_path_get_basename(self->image_path ? self->image_path : "image");
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = '\0';
    int b = octiscope_inspector_get_block(self);
    return b == 0 ? g_strdup_printf("%s-embedding", name) : g_strdup_printf("%s-block%d", name, b - 1);
}

gboolean octiscope_inspector_export(OctiscopeInspector *self, const char *dir, int *models, GError **error) {
    g_return_val_if_fail(OCTISCOPE_IS_INSPECTOR(self), FALSE);
    if (models) *models = 0;
    if (!self->image) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, "nothing to export: open an image first");
        return FALSE;
    }
    g_autofree char *base = octiscope_inspector_export_prefix(self);
    g_autofree char *copies_name = g_strdup_printf("%s-copies.png", base);
    g_autofree char *copies = g_build_filename(dir, copies_name, NULL);
    if (!octiscope_widget_save_png(GTK_WIDGET(self->copies_strip), copies, error)) return FALSE;
    OctiscopeModelPane *panes[2] = {self->pane_a, gtk_check_button_get_active(self->compare_check) ? self->pane_b : NULL};
    for (int i = 0; i < 2; i++) {
        if (!panes[i] || !octiscope_model_pane_get_analysis(panes[i])) continue;
        const char *kind = octic_kind_name(octiscope_model_pane_get_analysis(panes[i])->kind);
        g_autofree char *prefix = g_strdup_printf("%s-%c-%s", base, 'A' + i, kind);
        if (!octiscope_model_pane_export(panes[i], dir, prefix, error)) return FALSE;
        if (models) (*models)++;
    }
    return TRUE;
}

/* ---- class ---------------------------------------------------------------------------------- */

static void dispose(GObject *object) {
    OctiscopeInspector *self = OCTISCOPE_INSPECTOR(object);
    if (self->load_cancellable) g_cancellable_cancel(self->load_cancellable);
    g_clear_object(&self->load_cancellable);
    g_clear_object(&self->store);
    g_clear_pointer(&self->image, g_bytes_unref);
    g_clear_pointer(&self->image_path, g_free);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_INSPECTOR);
    G_OBJECT_CLASS(octiscope_inspector_parent_class)->dispose(object);
}

static void octiscope_inspector_class_init(OctiscopeInspectorClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    g_type_ensure(OCTISCOPE_TYPE_MODEL_ENTRY);
    g_type_ensure(OCTISCOPE_TYPE_MODEL_PANE);
    g_type_ensure(OCTISCOPE_TYPE_IMAGE_STRIP);
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-inspector.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, OctiscopeInspector, name)
    CHILD(image_label);
    CHILD(block_label);
    CHILD(model_a);
    CHILD(model_b);
    CHILD(compare_check);
    CHILD(block_scale);
    CHILD(block_adjustment);
    CHILD(stack);
    CHILD(copies_strip);
    CHILD(pane_a);
    CHILD(pane_b);
#undef CHILD
    signals[SIGNAL_ERROR] = g_signal_new("error", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, G_TYPE_STRING);
    signals[SIGNAL_FINISHED] =
        g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void octiscope_inspector_init(OctiscopeInspector *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
    g_signal_connect(self->model_a, "notify::selected", G_CALLBACK(on_model_changed), self);
    g_signal_connect(self->model_b, "notify::selected", G_CALLBACK(on_model_changed), self);
    g_signal_connect(self->compare_check, "toggled", G_CALLBACK(on_compare_toggled), self);
    g_signal_connect(self->block_adjustment, "value-changed", G_CALLBACK(on_block_changed), self);
    g_signal_connect(self->copies_strip, "activated", G_CALLBACK(on_copy_activated), self);
    g_signal_connect(self->pane_a, "finished", G_CALLBACK(on_pane_finished), self);
    g_signal_connect(self->pane_b, "finished", G_CALLBACK(on_pane_finished), self);
    update_block_label(self);
}
