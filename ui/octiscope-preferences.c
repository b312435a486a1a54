/* The preferences window (see octiscope-preferences.h). */
#include "octiscope-preferences.h"

#include "studio-device.h"

struct _OctiscopePreferences {
    AdwPreferencesWindow parent_instance;
    AdwComboRow *style_row, *cmap_row, *device_row;
    GtkSpinButton *threads_spin;
    AdwEntryRow *database_row;
    GSettings *settings;
};

G_DEFINE_TYPE(OctiscopePreferences, octiscope_preferences, ADW_TYPE_PREFERENCES_WINDOW)

static void on_style(AdwComboRow *row, GParamSpec *pspec, OctiscopePreferences *self) {
    g_settings_set_enum(self->settings, "style", (int)adw_combo_row_get_selected(row));
}

static void on_cmap(AdwComboRow *row, GParamSpec *pspec, OctiscopePreferences *self) {
    g_settings_set_enum(self->settings, "colour-map", (int)adw_combo_row_get_selected(row));
}

/* the row's items, in the order of the schema's choices */
static const char *const devices[] = {"cpu", "cuda"};

static void on_device(AdwComboRow *row, GParamSpec *pspec, OctiscopePreferences *self) {
    guint i = adw_combo_row_get_selected(row);
    if (i < G_N_ELEMENTS(devices)) g_settings_set_string(self->settings, "device", devices[i]);
}

static void on_database_apply(AdwEntryRow *row, OctiscopePreferences *self) {
    g_settings_set_string(self->settings, "default-database", gtk_editable_get_text(GTK_EDITABLE(row)));
}

static void dispose(GObject *object) {
    OctiscopePreferences *self = OCTISCOPE_PREFERENCES(object);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_PREFERENCES);
    g_clear_object(&self->settings);
    G_OBJECT_CLASS(octiscope_preferences_parent_class)->dispose(object);
}

static void octiscope_preferences_class_init(OctiscopePreferencesClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-preferences.ui");
    gtk_widget_class_bind_template_child(widget_class, OctiscopePreferences, style_row);
    gtk_widget_class_bind_template_child(widget_class, OctiscopePreferences, cmap_row);
    gtk_widget_class_bind_template_child(widget_class, OctiscopePreferences, device_row);
    gtk_widget_class_bind_template_child(widget_class, OctiscopePreferences, threads_spin);
    gtk_widget_class_bind_template_child(widget_class, OctiscopePreferences, database_row);
}

static void octiscope_preferences_init(OctiscopePreferences *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
}

OctiscopePreferences *octiscope_preferences_new(GtkWindow *parent, GSettings *settings) {
    OctiscopePreferences *self = g_object_new(OCTISCOPE_TYPE_PREFERENCES, "transient-for", parent, "modal", TRUE, NULL);
    self->settings = g_object_ref(settings);
    adw_combo_row_set_selected(self->style_row, (guint)g_settings_get_enum(settings, "style"));
    adw_combo_row_set_selected(self->cmap_row, (guint)g_settings_get_enum(settings, "colour-map"));
    g_signal_connect(self->style_row, "notify::selected", G_CALLBACK(on_style), self);
    g_signal_connect(self->cmap_row, "notify::selected", G_CALLBACK(on_cmap), self);
    g_autofree char *device = g_settings_get_string(settings, "device");
    adw_combo_row_set_selected(self->device_row, g_strcmp0(device, "cuda") == 0 ? 1 : 0);
    g_signal_connect(self->device_row, "notify::selected", G_CALLBACK(on_device), self);
    char cuda[320]; /* whether CUDA can run here, or why not and that the CPU runs instead */
    octiscope_device_cuda_status(cuda, sizeof cuda);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(self->device_row), cuda);
    g_settings_bind(settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
    /* the path is taken when applied (Enter or the apply button), not at each
     * keystroke: each change opens the database, which makes the file */
    g_settings_bind(settings, "default-database", self->database_row, "text", G_SETTINGS_BIND_GET);
    g_signal_connect(self->database_row, "apply", G_CALLBACK(on_database_apply), self);
    return self;
}
