/* The dialog that launches evaluations (see octiscope-eval-dialog.h). */
#include "octiscope-eval-dialog.h"

#include <stdlib.h>
#include <string.h>

#include "octiscope-application.h"
#include "protocols.h"

OctiscopeEvalJob *octiscope_eval_job_new(const char *model, int heads, const char *model_title, const char *data,
                                         octiscope_eval_protocol protocol, size_t subset, const int *ks, int n_ks) {
    static const char *const short_names[OCTISCOPE_EVAL_NPROTOCOLS] = {"k-NN", "Linear", "Segmentation",
                                                                            "Linear (DINOv2)"};
    OctiscopeEvalJob *job = g_new0(OctiscopeEvalJob, 1);
    job->model = g_strdup(model);
    job->data = g_strdup(data);
    g_autofree char *base = g_path_get_basename(data);
    job->title = g_strdup_printf("%s · %s · %s", short_names[protocol], model_title, base);
    job->request.model = job->model;
    job->request.heads = heads;
    job->request.data = job->data;
    job->request.protocol = protocol;
    job->request.subset = subset;
    job->request.n_ks = CLAMP(n_ks, 0, 8);
    for (int i = 0; i < job->request.n_ks; i++) job->request.ks[i] = ks[i];
    return job;
}

void octiscope_eval_job_set_settings(OctiscopeEvalJob *job, const octiscope_eval_request *settings) {
    octiscope_eval_request *r = &job->request;
    r->temperature = settings->temperature;
    r->n_lrs = CLAMP(settings->n_lrs, 0, 16);
    memcpy(r->lrs, settings->lrs, sizeof r->lrs);
    r->epochs = settings->epochs, r->epoch_length = settings->epoch_length, r->train_batch = settings->train_batch;
    r->n_cs = CLAMP(settings->n_cs, 0, 16);
    memcpy(r->cs, settings->cs, sizeof r->cs);
    r->n_seg_ks = CLAMP(settings->n_seg_ks, 0, 8);
    memcpy(r->seg_ks, settings->seg_ks, sizeof r->seg_ks);
}

void octiscope_eval_job_free(OctiscopeEvalJob *job) {
    if (!job) return;
    g_free(job->model), g_free(job->data), g_free(job->title);
    g_free(job);
}

struct _OctiscopeEvalDialog {
    AdwWindow parent_instance;
    GtkButton *cancel_button, *queue_button;
    GtkListBox *models_list;
    AdwComboRow *dataset_row, *protocol_row;
    GtkSpinButton *subset_spin;
    AdwEntryRow *ks_row, *lrs_row, *cs_row, *seg_ks_row;
    AdwActionRow *temperature_row, *epochs_row, *epoch_length_row, *train_batch_row;
    GtkSpinButton *temperature_spin, *epochs_spin, *epoch_length_spin, *train_batch_spin;
    GtkLabel *error_label;
    GtkButton *defaults_button;
    OctiscopeModelStore *models;
    OctiscopeDatasetStore *datasets;
    GSettings *settings; /* "last-evaluation": the choices of the last run queued, or NULL */
    GObject *followed;   /* the data set whose summary the row shows */
    GPtrArray *checks; /* GtkCheckButton, parallel to entries */
    GPtrArray *entries;
};

G_DEFINE_TYPE(OctiscopeEvalDialog, octiscope_eval_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_QUEUE, N_SIGNALS };
static guint signals[N_SIGNALS];

static void show_error(OctiscopeEvalDialog *self, const char *text) {
    gtk_label_set_label(self->error_label, text);
    gtk_widget_set_visible(GTK_WIDGET(self->error_label), TRUE);
}

/* ---- the last choices ---------------------------------------------------------------------- */

/* The settings remembered, by their keys in "last-evaluation": entry rows
 * as text, spin buttons as numbers. */
typedef struct {
    const char *key;
    GtkWidget *widget;
} setting_field;
#define N_SETTING_FIELDS 8

static void setting_fields(OctiscopeEvalDialog *self, setting_field *f) {
    const setting_field all[N_SETTING_FIELDS] = {
        {"ks", GTK_WIDGET(self->ks_row)},
        {"lrs", GTK_WIDGET(self->lrs_row)},
        {"cs", GTK_WIDGET(self->cs_row)},
        {"seg-ks", GTK_WIDGET(self->seg_ks_row)},
        {"temperature", GTK_WIDGET(self->temperature_spin)},
        {"epochs", GTK_WIDGET(self->epochs_spin)},
        {"epoch-length", GTK_WIDGET(self->epoch_length_spin)},
        {"train-batch", GTK_WIDGET(self->train_batch_spin)},
    };
    memcpy(f, all, sizeof all);
}

/* What was queued last (models, data set, protocol, subset and every
 * setting as shown), for the next New Evaluation. */
static void remember(OctiscopeEvalDialog *self, const char *data, octiscope_eval_protocol protocol) {
    if (!self->settings) return;
    GVariantBuilder b, models;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_init(&models, G_VARIANT_TYPE("as"));
    for (guint i = 0; i < self->checks->len; i++)
        if (gtk_check_button_get_active(g_ptr_array_index(self->checks, i)))
            g_variant_builder_add(&models, "s", octiscope_model_entry_get_path(g_ptr_array_index(self->entries, i)));
    g_variant_builder_add(&b, "{sv}", "models", g_variant_builder_end(&models));
    g_variant_builder_add(&b, "{sv}", "dataset", g_variant_new_string(data));
    g_variant_builder_add(&b, "{sv}", "protocol", g_variant_new_string(octiscope_eval_protocol_name(protocol)));
    g_variant_builder_add(&b, "{sv}", "subset", g_variant_new_int32(gtk_spin_button_get_value_as_int(self->subset_spin)));
    setting_field f[N_SETTING_FIELDS];
    setting_fields(self, f);
    for (int i = 0; i < N_SETTING_FIELDS; i++)
        g_variant_builder_add(&b, "{sv}", f[i].key,
                              GTK_IS_SPIN_BUTTON(f[i].widget)
                                  ? g_variant_new_double(gtk_spin_button_get_value(GTK_SPIN_BUTTON(f[i].widget)))
                                  : g_variant_new_string(gtk_editable_get_text(GTK_EDITABLE(f[i].widget))));
    g_settings_set_value(self->settings, "last-evaluation", g_variant_builder_end(&b));
}

/* The choices remembered: the models and the data set that are still in
 * the library, the protocol, the subset and the settings. */
static void restore(OctiscopeEvalDialog *self) {
    if (!self->settings) return;
    g_autoptr(GVariant) last = g_settings_get_value(self->settings, "last-evaluation");
    GVariantDict d;
    g_variant_dict_init(&d, last);
    g_autofree const char **models = NULL;
    if (g_variant_dict_lookup(&d, "models", "^a&s", &models))
        for (guint i = 0; i < self->checks->len; i++) {
            const char *path = octiscope_model_entry_get_path(g_ptr_array_index(self->entries, i));
            gtk_check_button_set_active(g_ptr_array_index(self->checks, i), g_strv_contains(models, path));
        }
    const char *text;
    if (g_variant_dict_lookup(&d, "dataset", "&s", &text)) {
        GListModel *sets = G_LIST_MODEL(self->datasets);
        for (guint i = 0; i < g_list_model_get_n_items(sets); i++) {
            g_autoptr(OctiscopeDatasetEntry) e = g_list_model_get_item(sets, i);
            if (g_strcmp0(octiscope_dataset_entry_get_root(e), text) == 0) adw_combo_row_set_selected(self->dataset_row, i);
        }
    }
    if (g_variant_dict_lookup(&d, "protocol", "&s", &text))
        for (int p = 0; p < OCTISCOPE_EVAL_NPROTOCOLS; p++)
            if (strcmp(octiscope_eval_protocol_name(p), text) == 0) adw_combo_row_set_selected(self->protocol_row, (guint)p);
    gint32 subset;
    if (g_variant_dict_lookup(&d, "subset", "i", &subset)) gtk_spin_button_set_value(self->subset_spin, subset);
    setting_field f[N_SETTING_FIELDS];
    setting_fields(self, f);
    double v;
    for (int i = 0; i < N_SETTING_FIELDS; i++)
        if (GTK_IS_SPIN_BUTTON(f[i].widget) && g_variant_dict_lookup(&d, f[i].key, "d", &v))
            gtk_spin_button_set_value(GTK_SPIN_BUTTON(f[i].widget), v);
        else if (!GTK_IS_SPIN_BUTTON(f[i].widget) && g_variant_dict_lookup(&d, f[i].key, "&s", &text))
            gtk_editable_set_text(GTK_EDITABLE(f[i].widget), text);
    g_variant_dict_clear(&d);
}

/* ---- queueing ------------------------------------------------------------------------------ */

/* The chosen data set's layout, splits and classes (or why it cannot be
 * opened) under its name, followed while it is being opened. */
static void show_dataset_summary(OctiscopeEvalDialog *self) {
    gpointer item = adw_combo_row_get_selected_item(self->dataset_row);
    const char *summary = item ? octiscope_dataset_entry_get_summary(OCTISCOPE_DATASET_ENTRY(item)) : NULL;
    adw_action_row_set_subtitle(ADW_ACTION_ROW(self->dataset_row), summary ? summary : "Add a data set in the library");
}

static void on_summary(OctiscopeDatasetEntry *entry, GParamSpec *pspec, OctiscopeEvalDialog *self) {
    show_dataset_summary(self);
}

static void on_dataset(AdwComboRow *row, GParamSpec *pspec, OctiscopeEvalDialog *self) {
    if (self->followed) g_signal_handlers_disconnect_by_func(self->followed, on_summary, self);
    g_set_object(&self->followed, adw_combo_row_get_selected_item(row));
    if (self->followed) g_signal_connect(self->followed, "notify::summary", G_CALLBACK(on_summary), self);
    show_dataset_summary(self);
}

static void on_queue(GtkButton *button, OctiscopeEvalDialog *self) {
    gpointer item = adw_combo_row_get_selected_item(self->dataset_row);
    if (!item) {
        show_error(self, "Add a data set in the library first.");
        return;
    }
    const char *data = octiscope_dataset_entry_get_root(OCTISCOPE_DATASET_ENTRY(item));
    /* the runs name the folder the layout was found in ("VOC2012" under a
     * chosen "voc"), as the results table does */
    const octic_dataset *opened = octiscope_dataset_entry_get_dataset(OCTISCOPE_DATASET_ENTRY(item));
    const char *run_data = opened ? octic_dataset_root(opened) : data;
    octiscope_eval_protocol protocol = (octiscope_eval_protocol)adw_combo_row_get_selected(self->protocol_row);
    const gboolean knn = protocol == OCTISCOPE_EVAL_KNN, seg = protocol == OCTISCOPE_EVAL_SEG,
                   linear = protocol == OCTISCOPE_EVAL_LINEAR || protocol == OCTISCOPE_EVAL_LINEAR_DINOV2;
    /* the settings of the chosen protocol, read and checked once for every job */
    octiscope_eval_request settings = {0};
    double v[16];
    char err[200];
    int n = 0;
    const char *what = NULL;
    if (knn) {
        what = "k values";
        if ((n = octiscope_parse_numbers(gtk_editable_get_text(GTK_EDITABLE(self->ks_row)), 1, 100000, 1, v, 8, err,
                                         sizeof err)) > 0) {
            settings.n_ks = n;
            for (int i = 0; i < n; i++) settings.ks[i] = (int)v[i];
        }
        settings.temperature = (float)gtk_spin_button_get_value(self->temperature_spin);
    } else if (linear) {
        what = "learning rates";
        if ((n = octiscope_parse_numbers(gtk_editable_get_text(GTK_EDITABLE(self->lrs_row)), 1e-9, 1e3, 0, v, 16, err,
                                         sizeof err)) > 0) {
            octic_linear_protocol lp;
            octic_linear_protocol_defaults(&lp);
            octiscope_snap_numbers(v, n, lp.lrs, lp.n_lr); /* the defaults as shown read back exactly */
            settings.n_lrs = n;
            memcpy(settings.lrs, v, (size_t)n * sizeof(double));
        }
        settings.epochs = gtk_spin_button_get_value_as_int(self->epochs_spin);
        settings.epoch_length = gtk_spin_button_get_value_as_int(self->epoch_length_spin);
        settings.train_batch = gtk_spin_button_get_value_as_int(self->train_batch_spin);
    } else if (seg) {
        what = "C values";
        if ((n = octiscope_parse_numbers(gtk_editable_get_text(GTK_EDITABLE(self->cs_row)), 1e-12, 1e12, 0, v, 16, err,
                                         sizeof err)) > 0) {
            octic_seg_protocol sp;
            octic_seg_protocol_defaults(&sp);
            octiscope_snap_numbers(v, n, sp.cs, sp.n_c); /* 3.72759e-05 is 10^-4.43 */
            settings.n_cs = n;
            memcpy(settings.cs, v, (size_t)n * sizeof(double));
            what = "k values";
            if ((n = octiscope_parse_numbers(gtk_editable_get_text(GTK_EDITABLE(self->seg_ks_row)), 1, 100000, 1, v, 8,
                                             err, sizeof err)) > 0) {
                settings.n_seg_ks = n;
                for (int i = 0; i < n; i++) settings.seg_ks[i] = (int)v[i];
            }
        }
    }
    if (n < 0) {
        g_autofree char *msg = g_strdup_printf("%s: %s", what, err);
        show_error(self, msg);
        return;
    }
    GPtrArray *jobs = g_ptr_array_new_with_free_func((GDestroyNotify)octiscope_eval_job_free);
    for (guint i = 0; i < self->checks->len; i++) {
        if (!gtk_check_button_get_active(g_ptr_array_index(self->checks, i))) continue;
        OctiscopeModelEntry *e = g_ptr_array_index(self->entries, i);
        OctiscopeEvalJob *job = octiscope_eval_job_new(octiscope_model_entry_get_path(e),
                                                       octiscope_model_entry_get_heads(e),
                                                       octiscope_model_entry_get_title(e), run_data, protocol,
                                                       (size_t)gtk_spin_button_get_value_as_int(self->subset_spin),
                                                       settings.ks, settings.n_ks);
        octiscope_eval_job_set_settings(job, &settings);
        g_ptr_array_add(jobs, job);
    }
    if (jobs->len == 0) {
        g_ptr_array_unref(jobs);
        show_error(self, "Choose at least one model.");
        return;
    }
    remember(self, data, protocol);
    g_signal_emit(self, signals[SIGNAL_QUEUE], 0, jobs);
    g_ptr_array_unref(jobs);
    gtk_window_destroy(GTK_WINDOW(self));
}

static void on_cancel(GtkButton *button, OctiscopeEvalDialog *self) {
    gtk_window_destroy(GTK_WINDOW(self));
}

static void show_defaults(OctiscopeEvalDialog *self);

static void on_defaults(GtkButton *button, OctiscopeEvalDialog *self) {
    show_defaults(self);
}

/* What each protocol does, under its short name in the list. */
static const char *const protocol_details[OCTISCOPE_EVAL_NPROTOCOLS] = {
    "DINOv2's: val images classified by weighted votes of their nearest train images (class tokens)",
    "DINOv2's linear heads on the last blocks' class tokens and patch mean, trained on features extracted once",
    "capi's: each patch classified by a k-NN and a logistic regression on the frozen features; mIoU",
    "DINOv2's: linear heads trained on augmented images through the frozen backbone at every step",
};

static void on_protocol(AdwComboRow *row, GParamSpec *pspec, OctiscopeEvalDialog *self) {
    guint p = adw_combo_row_get_selected(row);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), p < OCTISCOPE_EVAL_NPROTOCOLS ? protocol_details[p] : "");
    const gboolean knn = p == OCTISCOPE_EVAL_KNN, seg = p == OCTISCOPE_EVAL_SEG,
                   linear = p == OCTISCOPE_EVAL_LINEAR || p == OCTISCOPE_EVAL_LINEAR_DINOV2;
    gtk_widget_set_visible(GTK_WIDGET(self->ks_row), knn);
    gtk_widget_set_visible(GTK_WIDGET(self->temperature_row), knn);
    gtk_widget_set_visible(GTK_WIDGET(self->lrs_row), linear);
    gtk_widget_set_visible(GTK_WIDGET(self->epochs_row), linear);
    gtk_widget_set_visible(GTK_WIDGET(self->epoch_length_row), linear);
    gtk_widget_set_visible(GTK_WIDGET(self->train_batch_row), linear);
    gtk_widget_set_visible(GTK_WIDGET(self->cs_row), seg);
    gtk_widget_set_visible(GTK_WIDGET(self->seg_ks_row), seg);
}

/* "0.1, 0.2" from the protocol's defaults, for the entry rows. */
static void set_numbers(AdwEntryRow *row, const double *v, int n, gboolean whole) {
    char text[512];
    octiscope_format_numbers(text, sizeof text, v, n, whole);
    gtk_editable_set_text(GTK_EDITABLE(row), text);
}

static void show_defaults(OctiscopeEvalDialog *self) {
    octic_knn_protocol kp;
    octic_linear_protocol lp;
    octic_seg_protocol sp;
    octic_knn_protocol_defaults(&kp);
    octic_linear_protocol_defaults(&lp);
    octic_seg_protocol_defaults(&sp);
    double v[16];
    for (int i = 0; i < kp.n_k && i < 16; i++) v[i] = kp.ks[i];
    set_numbers(self->ks_row, v, MIN(kp.n_k, 16), TRUE);
    gtk_spin_button_set_value(self->temperature_spin, kp.temperature);
    set_numbers(self->lrs_row, lp.lrs, MIN(lp.n_lr, 16), FALSE);
    gtk_spin_button_set_value(self->epochs_spin, lp.epochs);
    gtk_spin_button_set_value(self->epoch_length_spin, lp.epoch_length);
    gtk_spin_button_set_value(self->train_batch_spin, lp.batch_size);
    set_numbers(self->cs_row, sp.cs, MIN(sp.n_c, 16), FALSE);
    for (int i = 0; i < sp.n_k && i < 16; i++) v[i] = sp.ks[i];
    set_numbers(self->seg_ks_row, v, MIN(sp.n_k, 16), TRUE);
}

static void dispose(GObject *object) {
    OctiscopeEvalDialog *self = OCTISCOPE_EVAL_DIALOG(object);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_EVAL_DIALOG);
    g_clear_pointer(&self->checks, g_ptr_array_unref);
    g_clear_pointer(&self->entries, g_ptr_array_unref);
    g_clear_object(&self->models);
    g_clear_object(&self->datasets);
    g_clear_object(&self->settings);
    if (self->followed) g_signal_handlers_disconnect_by_func(self->followed, on_summary, self);
    g_clear_object(&self->followed);
    G_OBJECT_CLASS(octiscope_eval_dialog_parent_class)->dispose(object);
}

static void octiscope_eval_dialog_class_init(OctiscopeEvalDialogClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-eval-dialog.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, OctiscopeEvalDialog, name)
    CHILD(cancel_button);
    CHILD(queue_button);
    CHILD(models_list);
    CHILD(dataset_row);
    CHILD(protocol_row);
    CHILD(subset_spin);
    CHILD(ks_row);
    CHILD(lrs_row);
    CHILD(cs_row);
    CHILD(seg_ks_row);
    CHILD(temperature_row);
    CHILD(epochs_row);
    CHILD(epoch_length_row);
    CHILD(train_batch_row);
    CHILD(temperature_spin);
    CHILD(epochs_spin);
    CHILD(epoch_length_spin);
    CHILD(train_batch_spin);
    CHILD(error_label);
    CHILD(defaults_button);
#undef CHILD
    signals[SIGNAL_QUEUE] = g_signal_new("queue", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);
}

static void octiscope_eval_dialog_init(OctiscopeEvalDialog *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
    self->checks = g_ptr_array_new();
    self->entries = g_ptr_array_new_with_free_func(g_object_unref);
    g_signal_connect(self->queue_button, "clicked", G_CALLBACK(on_queue), self);
    g_signal_connect(self->cancel_button, "clicked", G_CALLBACK(on_cancel), self);
    g_signal_connect(self->defaults_button, "clicked", G_CALLBACK(on_defaults), self);
    g_signal_connect(self->protocol_row, "notify::selected", G_CALLBACK(on_protocol), self);
    show_defaults(self);
    on_protocol(self->protocol_row, NULL, self);
}

static char *dataset_title(OctiscopeDatasetEntry *e) {
    return g_strdup(octiscope_dataset_entry_get_title(e));
}

OctiscopeEvalDialog *octiscope_eval_dialog_new(GtkWindow *parent, OctiscopeModelStore *models,
                                               OctiscopeDatasetStore *datasets) {
    OctiscopeEvalDialog *self = g_object_new(OCTISCOPE_TYPE_EVAL_DIALOG, "transient-for", parent, "application",
                                             parent ? gtk_window_get_application(parent) : NULL, NULL);
    self->models = g_object_ref(models);
    self->datasets = g_object_ref(datasets);
    for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(models)); i++) {
        OctiscopeModelEntry *e = g_list_model_get_item(G_LIST_MODEL(models), i);
        if (octiscope_model_entry_get_state(e) != OCTISCOPE_MODEL_READY) {
            g_object_unref(e);
            continue;
        }
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE); /* a file may be named "a&b.pth" */
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), octiscope_model_entry_get_title(e));
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), octic_kind_name(octiscope_model_entry_get_config(e)->kind));
        GtkWidget *check = gtk_check_button_new();
        gtk_widget_set_valign(check, GTK_ALIGN_CENTER);
        adw_action_row_add_prefix(ADW_ACTION_ROW(row), check);
        adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), check);
        gtk_list_box_append(self->models_list, row);
        g_ptr_array_add(self->checks, check);
        g_ptr_array_add(self->entries, e);
    }
    adw_combo_row_set_expression(self->dataset_row,
                                 gtk_cclosure_expression_new(G_TYPE_STRING, NULL, 0, NULL, G_CALLBACK(dataset_title),
                                                             NULL, NULL));
    g_signal_connect(self->dataset_row, "notify::selected-item", G_CALLBACK(on_dataset), self);
    adw_combo_row_set_model(self->dataset_row, G_LIST_MODEL(datasets));
    on_dataset(self->dataset_row, NULL, self);
    GApplication *app = parent ? G_APPLICATION(gtk_window_get_application(parent)) : NULL;
    if (app && OCTISCOPE_IS_APPLICATION(app)) {
        self->settings = g_object_ref(octiscope_application_get_settings(OCTISCOPE_APPLICATION(app)));
        restore(self);
    }
    return self;
}

void octiscope_eval_dialog_set_protocol(OctiscopeEvalDialog *self, octiscope_eval_protocol protocol) {
    g_return_if_fail(OCTISCOPE_IS_EVAL_DIALOG(self));
    g_return_if_fail(protocol >= 0 && protocol < OCTISCOPE_EVAL_NPROTOCOLS);
    adw_combo_row_set_selected(self->protocol_row, (guint)protocol); /* the rows are in the enum's order */
}
