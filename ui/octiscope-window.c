/* The main window (see octiscope-window.h). */
#include "octiscope-window.h"

#include "analysis.h"
#include "chooser.h"
#include "studio-device.h"

struct _OctiscopeWindow {
    AdwApplicationWindow parent_instance;
    AdwToastOverlay *toast_overlay;
    AdwViewStack *stack;
    OctiscopeLibraryPage *library_page;
    OctiscopeInspector *inspector;
    OctiscopeBrowser *browser;
    OctiscopeEvaluations *evaluations;

    OctiscopeModelStore *store;
    OctiscopeDatasetStore *datasets;
    GSettings *settings;
    char *export_dir;       /* the folder of the last export, or NULL */
    gboolean closing;       /* closed while an evaluation ran: waiting for it to stop */
    gboolean close_confirmed; /* the user chose to stop the runs and close */
    GtkWidget *close_dialog;  /* asking whether to stop them, or NULL */
};

G_DEFINE_TYPE(OctiscopeWindow, octiscope_window, ADW_TYPE_APPLICATION_WINDOW)

void octiscope_window_show_error(OctiscopeWindow *self, const char *message) {
    g_return_if_fail(OCTISCOPE_IS_WINDOW(self));
    g_autofree char *escaped = g_markup_escape_text(message, -1);
    AdwToast *toast = adw_toast_new(escaped);
    adw_toast_set_timeout(toast, 8);
    adw_toast_overlay_add_toast(self->toast_overlay, toast);
    g_message("%s", message); /* also on the terminal, in full */
}

void octiscope_window_show_page(OctiscopeWindow *self, const char *name) {
    g_return_if_fail(OCTISCOPE_IS_WINDOW(self));
    adw_view_stack_set_visible_child_name(self->stack, name);
}

OctiscopeInspector *octiscope_window_get_inspector(OctiscopeWindow *self) {
    return self->inspector;
}
OctiscopeLibraryPage *octiscope_window_get_library_page(OctiscopeWindow *self) {
    return self->library_page;
}
OctiscopeBrowser *octiscope_window_get_browser(OctiscopeWindow *self) {
    return self->browser;
}
OctiscopeEvaluations *octiscope_window_get_evaluations(OctiscopeWindow *self) {
    return self->evaluations;
}

/* ---- heads ---------------------------------------------------------------------------- */

static void on_heads_response(AdwMessageDialog *dialog, const char *response, OctiscopeModelEntry *entry) {
    if (g_strcmp0(response, "set") == 0) {
        GtkSpinButton *spin = g_object_get_data(G_OBJECT(dialog), "spin");
        octiscope_model_entry_set_heads(entry, gtk_spin_button_get_value_as_int(spin));
    }
}

/* Set only for a number the model's shape can take; the reason below. */
static void on_heads_value(GtkSpinButton *spin, AdwMessageDialog *dialog) {
    OctiscopeModelEntry *entry = g_object_get_data(G_OBJECT(dialog), "entry");
    GtkLabel *why = g_object_get_data(G_OBJECT(dialog), "why");
    gboolean fits = octic_config_check_heads(octiscope_model_entry_get_config(entry),
                                             gtk_spin_button_get_value_as_int(spin)) == OCTIC_OK;
    adw_message_dialog_set_response_enabled(dialog, "set", fits);
    gtk_label_set_label(why, fits ? "" : octic_last_error());
}

static void ask_heads(OctiscopeWindow *self, OctiscopeModelEntry *entry) {
    const octic_config *cfg = octiscope_model_entry_get_config(entry);
    int dim = cfg->dim, heads = cfg->heads > 0 ? cfg->heads : octiscope_model_entry_get_heads(entry);
    const char *why = octiscope_model_entry_get_state(entry) == OCTISCOPE_MODEL_NEEDS_HEADS
                          ? "This checkpoint does not store its number of attention heads, and its shape is not a "
                            "published architecture."
                          : "The model is read again with the number set.";
    g_autofree char *body = g_strdup_printf("%s\n\n%s Its width is %d; the published models use heads of width 64 "
                                            "(80 for ViT-H).",
                                            octiscope_model_entry_get_path(entry), why, dim);
    GtkWidget *dialog = adw_message_dialog_new(GTK_WINDOW(self), "Number of Attention Heads", body);
    GtkWidget *spin = gtk_spin_button_new_with_range(1, MAX(dim, 1), 1);
    gtk_widget_set_halign(spin, GTK_ALIGN_CENTER);
    GtkWidget *reason = gtk_label_new(NULL);
    gtk_label_set_wrap(GTK_LABEL(reason), TRUE);
    gtk_widget_add_css_class(reason, "error");
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    gtk_box_append(GTK_BOX(box), spin);
    gtk_box_append(GTK_BOX(box), reason);
    adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), box);
    g_object_set_data(G_OBJECT(dialog), "spin", spin);
    g_object_set_data(G_OBJECT(dialog), "why", reason);
    g_object_set_data_full(G_OBJECT(dialog), "entry", g_object_ref(entry), g_object_unref);
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", "_Cancel", "set", "_Set", NULL);
    g_signal_connect(spin, "value-changed", G_CALLBACK(on_heads_value), dialog);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(spin), heads > 0 ? heads : dim >= 64 ? dim / 64 : 1);
    on_heads_value(GTK_SPIN_BUTTON(spin), ADW_MESSAGE_DIALOG(dialog));
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "set", ADW_RESPONSE_SUGGESTED);
    adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "set");
    g_signal_connect_data(dialog, "response", G_CALLBACK(on_heads_response), g_object_ref(entry),
                          (GClosureNotify)(void (*)(void))g_object_unref, 0);
    gtk_window_present(GTK_WINDOW(dialog));
}

static void on_ask_heads(OctiscopeLibraryPage *page, OctiscopeModelEntry *entry, OctiscopeWindow *self) {
    ask_heads(self, entry);
}

/* A model the user added: ask for the heads or report the failure once it is read. */
static void on_added_state(OctiscopeModelEntry *entry, GParamSpec *pspec, OctiscopeWindow *self) {
    OctiscopeModelState st = octiscope_model_entry_get_state(entry);
    if (st == OCTISCOPE_MODEL_PROBING) return;
    g_signal_handlers_disconnect_by_func(entry, on_added_state, self);
    if (st == OCTISCOPE_MODEL_NEEDS_HEADS)
        ask_heads(self, entry);
    else if (st == OCTISCOPE_MODEL_FAILED)
        octiscope_window_show_error(self, octiscope_model_entry_get_error(entry));
}

/* A model or a data set taken out of the library: a toast offers it back,
 * at once (ahead of a toast already shown). */
static void on_removed(OctiscopeLibraryPage *page, gboolean is_dataset, const char *key, const char *title,
                       OctiscopeWindow *self) {
    g_autofree char *text = g_strdup_printf("Removed %s", title && *title ? title : key);
    g_autofree char *escaped = g_markup_escape_text(text, -1);
    AdwToast *toast = adw_toast_new(escaped);
    adw_toast_set_button_label(toast, "_Undo");
    adw_toast_set_priority(toast, ADW_TOAST_PRIORITY_HIGH);
    adw_toast_set_action_name(toast, "win.undo-remove");
    adw_toast_set_action_target_value(toast, g_variant_new("(bs)", is_dataset, key));
    adw_toast_overlay_add_toast(self->toast_overlay, toast);
}

static void undo_remove_action(GtkWidget *widget, const char *name, GVariant *param) {
    OctiscopeWindow *self = OCTISCOPE_WINDOW(widget);
    gboolean is_dataset;
    const char *key;
    g_variant_get(param, "(b&s)", &is_dataset, &key);
    if (is_dataset) {
        octiscope_dataset_store_restore(self->datasets, key);
        return;
    }
    OctiscopeModelEntry *e = octiscope_model_store_restore(self->store, key);
    if (e) octiscope_library_page_select(self->library_page, e);
}

static void add_model(OctiscopeWindow *self, const char *path) {
    OctiscopeModelEntry *e = octiscope_model_store_add(self->store, path, 0);
    octiscope_library_page_select(self->library_page, e);
    if (octiscope_model_entry_get_state(e) == OCTISCOPE_MODEL_PROBING)
        g_signal_connect_object(e, "notify::state", G_CALLBACK(on_added_state), self, 0);
    else
        on_added_state(e, NULL, self);
    octiscope_window_show_page(self, "library");
}

/* ---- files ------------------------------------------------------------------------------- */

static gboolean is_checkpoint(const char *path) {
    return g_str_has_suffix(path, ".pth") || g_str_has_suffix(path, ".pt") || g_str_has_suffix(path, ".safetensors");
}

void octiscope_window_open_file(OctiscopeWindow *self, GFile *file) {
    g_return_if_fail(OCTISCOPE_IS_WINDOW(self));
    g_autofree char *path = g_file_get_path(file);
    if (!path) {
        g_autofree char *uri = g_file_get_uri(file);
        g_autofree char *msg = g_strdup_printf("%s: only local files can be opened", uri);
        octiscope_window_show_error(self, msg);
        return;
    }
    if (is_checkpoint(path)) {
        add_model(self, path);
    } else {
        octiscope_inspector_open_image(self->inspector, path);
        octiscope_window_show_page(self, "inspector");
    }
}

static void on_chooser_response(GtkNativeDialog *chooser, int response, OctiscopeWindow *self) {
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GListModel) files = gtk_file_chooser_get_files(GTK_FILE_CHOOSER(chooser));
        for (guint i = 0; i < g_list_model_get_n_items(files); i++) {
            g_autoptr(GFile) f = g_list_model_get_item(files, i);
            octiscope_window_open_file(self, f);
        }
    }
}

static void choose_files(OctiscopeWindow *self, const char *title, const char *filter_name,
                         const char *const *patterns, gboolean multiple) {
    GtkFileChooserNative *chooser =
        gtk_file_chooser_native_new(title, GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
    gtk_file_chooser_set_select_multiple(GTK_FILE_CHOOSER(chooser), multiple);
    GtkFileFilter *filter = gtk_file_filter_new();
    gtk_file_filter_set_name(filter, filter_name);
    for (int i = 0; patterns[i]; i++) gtk_file_filter_add_pattern(filter, patterns[i]);
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), filter);
    g_object_unref(filter);
    octiscope_chooser_show(chooser, G_CALLBACK(on_chooser_response), self);
}

static void add_model_action(GtkWidget *widget, const char *name, GVariant *param) {
    static const char *const patterns[] = {"*.pth", "*.pt", "*.safetensors", NULL};
    choose_files(OCTISCOPE_WINDOW(widget), "Add Model", "Checkpoints (.pth, .safetensors)", patterns, TRUE);
}

static void open_image_action(GtkWidget *widget, const char *name, GVariant *param) {
    static const char *const patterns[] = {"*.jpg", "*.jpeg", "*.JPEG", "*.JPG", "*.png", "*.PNG", NULL};
    choose_files(OCTISCOPE_WINDOW(widget), "Inspect Image", "Images (JPEG, PNG)", patterns, FALSE);
}

static void on_export_response(GtkNativeDialog *chooser, int response, OctiscopeWindow *self) {
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) dir = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(chooser));
        g_autofree char *path = g_file_get_path(dir);
        g_autoptr(GError) error = NULL;
        int models = 0;
        if (path) g_free(self->export_dir), self->export_dir = g_strdup(path); /* the next export starts there */
        if (!path || !octiscope_inspector_export(self->inspector, path, &models, &error)) {
            octiscope_window_show_error(self, error ? error->message : "only local folders can be written");
        } else {
            g_autofree char *where = g_markup_escape_text(path, -1); /* a toast's title is markup */
            g_autofree char *prefix = octiscope_inspector_export_prefix(self->inspector);
            g_autofree char *names = g_markup_escape_text(prefix, -1);
            g_autofree char *msg =
                models ? g_strdup_printf("Pictures (PNG) and numbers (CSV) written to %s as %s-*", where, names)
                       : g_strdup_printf("Only the copies (%s-copies.png) written to %s: no model has finished", names,
                                         where);
            adw_toast_overlay_add_toast(self->toast_overlay, adw_toast_new(msg));
        }
    }
}

static void export_action(GtkWidget *widget, const char *name, GVariant *param) {
    OctiscopeWindow *self = OCTISCOPE_WINDOW(widget);
    if (!octiscope_inspector_get_image_path(self->inspector)) {
        octiscope_window_show_error(self, "Nothing to export: inspect an image first");
        return;
    }
    GtkFileChooserNative *chooser = gtk_file_chooser_native_new(
        "Export to Folder", GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Export", "_Cancel");
    if (self->export_dir) {
        g_autoptr(GFile) last = g_file_new_for_path(self->export_dir);
        gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(chooser), last, NULL);
    }
    octiscope_chooser_show(chooser, G_CALLBACK(on_export_response), self);
}

static void show_page_action(GtkWidget *widget, const char *name, GVariant *param) {
    octiscope_window_show_page(OCTISCOPE_WINDOW(widget), g_variant_get_string(param, NULL));
}

static void block_action(GtkWidget *widget, const char *name, GVariant *param) {
    OctiscopeWindow *self = OCTISCOPE_WINDOW(widget);
    octiscope_inspector_step_block(self->inspector, g_str_equal(name, "win.next-block") ? 1 : -1);
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y, OctiscopeWindow *self) {
    if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST)) return FALSE;
    for (GSList *l = g_value_get_boxed(value); l; l = l->next) octiscope_window_open_file(self, l->data);
    return TRUE;
}

/* ---- the inspector and the library ---------------------------------------------------------- */

static void on_inspect(OctiscopeLibraryPage *page, OctiscopeModelEntry *entry, gboolean compare, OctiscopeWindow *self) {
    OctiscopeModelPane *a = octiscope_inspector_get_pane(self->inspector, 0);
    OctiscopeModelEntry *current = octiscope_model_pane_get_entry(a);
    if (compare && current && current != entry)
        octiscope_inspector_set_models(self->inspector, current, entry);
    else
        octiscope_inspector_set_models(self->inspector, entry, NULL);
    octiscope_window_show_page(self, "inspector");
}

static void on_inspector_error(OctiscopeInspector *inspector, const char *message, OctiscopeWindow *self) {
    octiscope_window_show_error(self, message);
}

static void on_cmap_changed(GSettings *settings, const char *key, OctiscopeWindow *self) {
    g_autofree char *name = g_settings_get_string(settings, "colour-map");
    int cm = octiscope_cmap_parse(name);
    octiscope_inspector_set_cmap(self->inspector, cm < 0 ? OCTISCOPE_CMAP_VIRIDIS : cm);
}

/* ---- data sets ----------------------------------------------------------------------------- */

static void on_browse(OctiscopeLibraryPage *page, OctiscopeDatasetEntry *entry, OctiscopeWindow *self) {
    octiscope_browser_show_dataset(self->browser, entry);
    octiscope_window_show_page(self, "browser");
}

static void on_browser_inspect(OctiscopeBrowser *browser, const char *path, OctiscopeWindow *self) {
    octiscope_inspector_open_image(self->inspector, path);
    octiscope_window_show_page(self, "inspector");
}

static void on_dataset_state(OctiscopeDatasetEntry *entry, GParamSpec *pspec, OctiscopeWindow *self) {
    g_signal_handlers_disconnect_by_func(entry, on_dataset_state, self);
    if (octiscope_dataset_entry_get_state(entry) == OCTISCOPE_DATASET_FAILED)
        octiscope_window_show_error(self, octiscope_dataset_entry_get_error(entry));
}

static void on_dataset_folder(GtkNativeDialog *chooser, int response, OctiscopeWindow *self) {
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) dir = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(chooser));
        g_autofree char *path = g_file_get_path(dir);
        if (path) {
            OctiscopeDatasetEntry *e = octiscope_dataset_store_add(self->datasets, path);
            if (octiscope_dataset_entry_get_state(e) == OCTISCOPE_DATASET_OPENING)
                g_signal_connect_object(e, "notify::state", G_CALLBACK(on_dataset_state), self, 0);
            octiscope_window_show_page(self, "library");
        }
    }
}

static void add_dataset_action(GtkWidget *widget, const char *name, GVariant *param) {
    GtkFileChooserNative *chooser = gtk_file_chooser_native_new(
        "Add Data Set", GTK_WINDOW(widget), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Add", "_Cancel");
    octiscope_chooser_show(chooser, G_CALLBACK(on_dataset_folder), widget);
}

/* ---- evaluations --------------------------------------------------------------------------- */

static void on_queue(OctiscopeEvalDialog *dialog, GPtrArray *jobs, OctiscopeWindow *self) {
    octiscope_evaluations_queue(self->evaluations, jobs);
    octiscope_window_show_page(self, "evaluations");
}

static void new_evaluation_action(GtkWidget *widget, const char *name, GVariant *param) {
    OctiscopeWindow *self = OCTISCOPE_WINDOW(widget);
    OctiscopeEvalDialog *dialog = octiscope_eval_dialog_new(GTK_WINDOW(self), self->store, self->datasets);
    g_signal_connect(dialog, "queue", G_CALLBACK(on_queue), self);
    gtk_window_present(GTK_WINDOW(dialog));
}

static void on_evaluations_error(OctiscopeEvaluations *view, const char *message, OctiscopeWindow *self) {
    octiscope_window_show_error(self, message);
}

static void on_evaluations_notice(OctiscopeEvaluations *view, const char *message, OctiscopeWindow *self) {
    g_autofree char *escaped = g_markup_escape_text(message, -1); /* a file may be named "R&D.csv" */
    adw_toast_overlay_add_toast(self->toast_overlay, adw_toast_new(escaped));
}

static void on_database_changed(GSettings *settings, const char *key, OctiscopeWindow *self) {
    g_autofree char *db = g_settings_get_string(settings, "default-database");
    octiscope_evaluations_set_database(self->evaluations, db);
}

/* The device preference: models load onto it from now on and evaluations run
 * on it; asked for CUDA where it cannot run, the window says why, once per
 * start or change, and the work runs on the CPU. */
static void on_device_changed(GSettings *settings, const char *key, OctiscopeWindow *self) {
    g_autofree char *device = g_settings_get_string(settings, "device");
    char notice[512];
    octiscope_device_apply(device, notice, sizeof notice);
    if (notice[0]) octiscope_window_show_error(self, notice);
}

/* ---- class ----------------------------------------------------------------------------------- */

static void dispose(GObject *object) {
    OctiscopeWindow *self = OCTISCOPE_WINDOW(object);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_WINDOW);
    g_clear_object(&self->store);
    g_clear_object(&self->datasets);
    g_clear_object(&self->settings);
    g_clear_pointer(&self->export_dir, g_free);
    G_OBJECT_CLASS(octiscope_window_parent_class)->dispose(object);
}

/* The run asked to stop at the window's close has stopped and is recorded:
 * the window goes (from the main loop, not inside the view's signal), and
 * the application with it. */
static gboolean destroy_closed(gpointer data) {
    OctiscopeWindow *self = data;
    GApplication *app = G_APPLICATION(gtk_window_get_application(GTK_WINDOW(self)));
    if (app) g_object_ref(app);
    self->closing = FALSE;
    gtk_window_destroy(GTK_WINDOW(self));
    if (app) g_application_release(app), g_object_unref(app);
    g_object_unref(self);
    return G_SOURCE_REMOVE;
}

static void close_after_run(OctiscopeEvaluations *view, OctiscopeWindow *self) {
    g_signal_handlers_disconnect_by_func(view, close_after_run, self);
    g_idle_add(destroy_closed, self); /* with the reference taken at the close */
}

static void on_close_response(AdwMessageDialog *dialog, const char *response, OctiscopeWindow *self) {
    self->close_dialog = NULL;
    if (g_strcmp0(response, "stop") != 0) return;
    self->close_confirmed = TRUE;
    gtk_window_close(GTK_WINDOW(self));
}

/* Closing (or Ctrl+Q) while runs are running or queued: asks first, as
 * they would be stopped. */
static gboolean ask_before_closing(OctiscopeWindow *self) {
    guint queued = 0;
    g_autofree char *runs = self->evaluations ? octiscope_evaluations_describe_runs(self->evaluations, &queued) : NULL;
    if (!runs || self->close_confirmed) return FALSE;
    if (!self->close_dialog) {
        g_autofree char *body = g_strdup_printf(
            "%s. Quitting stops the running one, which is recorded as cancelled%s. Finished runs stay in the "
            "database.",
            runs, queued ? ", and drops the queued ones" : "");
        self->close_dialog = adw_message_dialog_new(GTK_WINDOW(self), "Stop the Evaluations?", body);
        adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(self->close_dialog), "keep", "_Keep Running", "stop",
                                         "_Stop and Quit", NULL);
        adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(self->close_dialog), "stop",
                                                   ADW_RESPONSE_DESTRUCTIVE);
        adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(self->close_dialog), "keep");
        adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(self->close_dialog), "keep");
        gtk_window_set_destroy_with_parent(GTK_WINDOW(self->close_dialog), TRUE);
        g_signal_connect(self->close_dialog, "response", G_CALLBACK(on_close_response), self);
    }
    gtk_window_present(GTK_WINDOW(self->close_dialog));
    return TRUE;
}

GtkWidget *octiscope_window_get_close_dialog(OctiscopeWindow *self) {
    return self->close_dialog;
}

static gboolean close_request(GtkWindow *window) {
    OctiscopeWindow *self = OCTISCOPE_WINDOW(window);
    if (self->closing) return TRUE; /* already waiting for the run to stop */
    if (ask_before_closing(self)) return TRUE;
    if (self->settings) {
        int w, h;
        gtk_window_get_default_size(window, &w, &h);
        g_settings_set_int(self->settings, "window-width", w);
        g_settings_set_int(self->settings, "window-height", h);
        g_settings_set_boolean(self->settings, "window-maximized", gtk_window_is_maximized(window));
    }
    /* An evaluation running: it is cancelled and the window hidden, and the
     * window (and so the application) goes once the run has stopped and is
     * recorded as cancelled, not left running in the database by a process
     * that quit under it. */
    if (self->evaluations && octiscope_evaluations_cancel_all(self->evaluations)) {
        self->closing = TRUE;
        GApplication *app = G_APPLICATION(gtk_window_get_application(window));
        if (app) g_application_hold(app);
        g_signal_connect(self->evaluations, "finished", G_CALLBACK(close_after_run), g_object_ref(self));
        gtk_widget_set_visible(GTK_WIDGET(window), FALSE);
        return TRUE;
    }
    return GTK_WINDOW_CLASS(octiscope_window_parent_class)->close_request(window);
}

static void octiscope_window_class_init(OctiscopeWindowClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    GTK_WINDOW_CLASS(klass)->close_request = close_request;
    g_type_ensure(OCTISCOPE_TYPE_LIBRARY_PAGE);
    g_type_ensure(OCTISCOPE_TYPE_INSPECTOR);
    g_type_ensure(OCTISCOPE_TYPE_BROWSER);
    g_type_ensure(OCTISCOPE_TYPE_EVALUATIONS);
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-window.ui");
    gtk_widget_class_bind_template_child(widget_class, OctiscopeWindow, toast_overlay);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeWindow, stack);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeWindow, library_page);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeWindow, inspector);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeWindow, browser);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeWindow, evaluations);

    gtk_widget_class_install_action(widget_class, "win.add-model", NULL, add_model_action);
    gtk_widget_class_install_action(widget_class, "win.undo-remove", "(bs)", undo_remove_action);
    gtk_widget_class_install_action(widget_class, "win.open-image", NULL, open_image_action);
    gtk_widget_class_install_action(widget_class, "win.add-dataset", NULL, add_dataset_action);
    gtk_widget_class_install_action(widget_class, "win.new-evaluation", NULL, new_evaluation_action);
    gtk_widget_class_install_action(widget_class, "win.export", NULL, export_action);
    gtk_widget_class_install_action(widget_class, "win.show-page", "s", show_page_action);
    gtk_widget_class_install_action(widget_class, "win.next-block", NULL, block_action);
    gtk_widget_class_install_action(widget_class, "win.previous-block", NULL, block_action);

    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.add-model", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "win.open-image", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_bracketright, GDK_CONTROL_MASK, "win.next-block", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_bracketleft, GDK_CONTROL_MASK, "win.previous-block", NULL);
    const char *pages[] = {"library", "browser", "inspector", "evaluations"};
    for (int i = 0; i < 4; i++)
        gtk_widget_class_add_binding_action(widget_class, GDK_KEY_1 + i, GDK_ALT_MASK, "win.show-page", "s", pages[i]);
}

/* Export writes the Inspector's pictures and numbers: it is offered (Ctrl+E,
 * the header button) on that page only, where they are shown. */
static void on_page_changed(AdwViewStack *stack, GParamSpec *pspec, OctiscopeWindow *self) {
    (void)pspec;
    gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.export",
                                  g_strcmp0(adw_view_stack_get_visible_child_name(stack), "inspector") == 0);
}

static void octiscope_window_init(OctiscopeWindow *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
    g_signal_connect(self->stack, "notify::visible-child-name", G_CALLBACK(on_page_changed), self);
    on_page_changed(self->stack, NULL, self);
    GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
    g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));
    g_signal_connect(self->library_page, "inspect", G_CALLBACK(on_inspect), self);
    g_signal_connect(self->library_page, "ask-heads", G_CALLBACK(on_ask_heads), self);
    g_signal_connect(self->library_page, "removed", G_CALLBACK(on_removed), self);
    g_signal_connect(self->inspector, "error", G_CALLBACK(on_inspector_error), self);
    g_signal_connect(self->library_page, "browse", G_CALLBACK(on_browse), self);
    g_signal_connect(self->browser, "inspect", G_CALLBACK(on_browser_inspect), self);
    g_signal_connect(self->evaluations, "error", G_CALLBACK(on_evaluations_error), self);
    g_signal_connect(self->evaluations, "notice", G_CALLBACK(on_evaluations_notice), self);
}

OctiscopeWindow *octiscope_window_new(GtkApplication *app, OctiscopeModelStore *store, OctiscopeDatasetStore *datasets,
                                     GSettings *settings) {
    OctiscopeWindow *self = g_object_new(OCTISCOPE_TYPE_WINDOW, "application", app, NULL);
    self->store = g_object_ref(store);
    self->datasets = g_object_ref(datasets);
    octiscope_library_page_set_dataset_store(self->library_page, datasets);
    octiscope_browser_set_store(self->browser, datasets);
    if (g_list_model_get_n_items(G_LIST_MODEL(datasets)) > 0) {
        g_autoptr(OctiscopeDatasetEntry) first = g_list_model_get_item(G_LIST_MODEL(datasets), 0);
        octiscope_browser_show_dataset(self->browser, first);
    }
    self->settings = settings ? g_object_ref(settings) : NULL;
    octiscope_library_page_set_store(self->library_page, store);
    octiscope_inspector_set_store(self->inspector, store);
    if (settings) {
        gtk_window_set_default_size(GTK_WINDOW(self), g_settings_get_int(settings, "window-width"),
                                    g_settings_get_int(settings, "window-height"));
        if (g_settings_get_boolean(settings, "window-maximized")) gtk_window_maximize(GTK_WINDOW(self));
        g_signal_connect_object(settings, "changed::colour-map", G_CALLBACK(on_cmap_changed), self, 0);
        g_signal_connect_object(settings, "changed::default-database", G_CALLBACK(on_database_changed), self, 0);
        on_database_changed(settings, "default-database", self);
        g_signal_connect_object(settings, "changed::device", G_CALLBACK(on_device_changed), self, 0);
        on_device_changed(settings, "device", self);
        g_settings_bind(settings, "mask-opacity", octiscope_browser_get_opacity(self->browser), "value",
                        G_SETTINGS_BIND_DEFAULT);
        on_cmap_changed(settings, "colour-map", self);
    }
    return self;
}
