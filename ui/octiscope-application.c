/* The Octiscope application (see octiscope-application.h). */
#define G_SETTINGS_ENABLE_BACKEND
#include "octiscope-application.h"

#include <gio/gsettingsbackend.h>

#include "octic-config.h"
#include "octiscope-config.h"
#include "background.h"
#include "octiscope-preferences.h"

struct _OctiscopeApplication {
    AdwApplication parent_instance;
    GSettings *settings;
    OctiscopeModelStore *store;
    OctiscopeDatasetStore *datasets;
};

G_DEFINE_TYPE(OctiscopeApplication, octiscope_application, ADW_TYPE_APPLICATION)

void octiscope_prepare_environment(void) {
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
    if (dir && g_strcmp0(dir, OCTISCOPE_BUILD_UI_DIR) == 0) {
        g_setenv("GSETTINGS_SCHEMA_DIR", OCTISCOPE_BUILD_UI_DIR, FALSE);
        g_setenv("OCTISCOPE_DEMO_MODELS", OCTISCOPE_BUILD_UI_DIR, FALSE);
        g_setenv("OCTISCOPE_DEMO_DATA", OCTISCOPE_SOURCE_DEMO_DATA, FALSE);
    }
}

const char *octiscope_demo_models_dir(void) {
    const char *env = g_getenv("OCTISCOPE_DEMO_MODELS");
    return env && *env ? env : OCTISCOPE_DATADIR "/octiscope/demo/models";
}

const char *octiscope_demo_data_dir(void) {
    const char *env = g_getenv("OCTISCOPE_DEMO_DATA");
    return env && *env ? env : OCTISCOPE_DATADIR "/octiscope/demo/data";
}

/* The preferences. Without dconf (or without the session bus dconf writes
 * through) GLib would keep them in memory only and the library would be
 * forgotten at exit: then they go to a key file in the user's configuration
 * folder ($XDG_CONFIG_HOME/octiscope/settings.ini). */
static GSettings *new_settings(void) {
    GSettingsBackend *fallback = g_settings_backend_get_default();
    const char *type = G_OBJECT_TYPE_NAME(fallback);
    gboolean lost = g_strcmp0(type, "GMemorySettingsBackend") == 0 ||
                    (g_strcmp0(type, "DConfSettingsBackend") == 0 && !g_getenv("DBUS_SESSION_BUS_ADDRESS"));
    g_object_unref(fallback);
    if (!lost || g_strcmp0(g_getenv("GSETTINGS_BACKEND"), "memory") == 0) return g_settings_new(OCTISCOPE_APP_ID);
    g_autofree char *dir = g_build_filename(g_get_user_config_dir(), "octiscope", NULL);
    g_autofree char *file = g_build_filename(dir, "settings.ini", NULL);
    g_mkdir_with_parents(dir, 0700);
    g_autoptr(GSettingsBackend) backend = g_keyfile_settings_backend_new(file, "/org/octiscope/Octiscope/", "octiscope");
    return g_settings_new_with_backend(OCTISCOPE_APP_ID, backend);
}

static void apply_style(GSettings *settings, const char *key, gpointer user_data) {
    static const AdwColorScheme schemes[] = {ADW_COLOR_SCHEME_DEFAULT, ADW_COLOR_SCHEME_FORCE_LIGHT,
                                             ADW_COLOR_SCHEME_FORCE_DARK};
    int s = g_settings_get_enum(settings, "style");
    adw_style_manager_set_color_scheme(adw_style_manager_get_default(), schemes[CLAMP(s, 0, 2)]);
}

OctiscopeWindow *octiscope_application_get_window(OctiscopeApplication *self) {
    GtkWindow *win = gtk_application_get_active_window(GTK_APPLICATION(self));
    if (OCTISCOPE_IS_WINDOW(win)) return OCTISCOPE_WINDOW(win);
    return octiscope_window_new(GTK_APPLICATION(self), self->store, self->datasets, self->settings);
}

static void activate(GApplication *app) {
    gtk_window_present(GTK_WINDOW(octiscope_application_get_window(OCTISCOPE_APPLICATION(app))));
}

static void open_files(GApplication *app, GFile **files, int n, const char *hint) {
    OctiscopeWindow *win = octiscope_application_get_window(OCTISCOPE_APPLICATION(app));
    for (int i = 0; i < n; i++) octiscope_window_open_file(win, files[i]);
    gtk_window_present(GTK_WINDOW(win));
}

static void quit_action(GSimpleAction *action, GVariant *param, gpointer app) {
    GList *windows = gtk_application_get_windows(GTK_APPLICATION(app));
    for (GList *l = windows; l;) {
        GList *next = l->next;
        gtk_window_close(l->data);
        l = next;
    }
}

static void preferences_action(GSimpleAction *action, GVariant *param, gpointer app) {
    OctiscopeApplication *self = app;
    GtkWindow *parent = gtk_application_get_active_window(GTK_APPLICATION(app));
    gtk_window_present(GTK_WINDOW(octiscope_preferences_new(parent, self->settings)));
}

static void about_action(GSimpleAction *action, GVariant *param, gpointer app) {
    static const char *const developers[] = {"The Octiscope developers", NULL};
    g_autofree char *debug = g_strdup_printf("Octiscope %s\nBLAS: %s\nGTK %u.%u.%u, libadwaita %u.%u.%u\n",
                                             OCTIC_VERSION, OCTIC_BLAS, gtk_get_major_version(),
                                             gtk_get_minor_version(), gtk_get_micro_version(),
                                             adw_get_major_version(), adw_get_minor_version(),
                                             adw_get_micro_version());
    GtkWindow *parent = gtk_application_get_active_window(GTK_APPLICATION(app));
    GtkWidget *about = g_object_new(ADW_TYPE_ABOUT_WINDOW, "transient-for", parent, "application-name", "Octiscope",
                                    "application-icon", OCTISCOPE_APP_ID, "version", OCTIC_VERSION, "developer-name",
                                    "The Octiscope developers", "developers", developers, "license-type",
                                    GTK_LICENSE_APACHE_2_0, "comments",
                                    "See how octic-equivariant Vision Transformers see: the features of every block "
                                    "under the eight rotations and mirrors of the square, equivariance errors, "
                                    "energy per irrep and attention.\n\nModels from \"Stronger ViTs With Octic "
                                    "Equivariance\" (Nordström et al., 2025).",
                                    "debug-info", debug, NULL);
    gtk_window_present(GTK_WINDOW(about));
}

static void apply_threads(GSettings *settings, const char *key, gpointer data) {
    octiscope_background_apply(g_settings_get_int(settings, "threads"));
}

static void startup(GApplication *app) {
    OctiscopeApplication *self = OCTISCOPE_APPLICATION(app);
    G_APPLICATION_CLASS(octiscope_application_parent_class)->startup(app);
    self->settings = new_settings();
    // the engine's and the BLAS's threads: the preference, or every core but
    // the one the window draws on
    apply_threads(self->settings, "threads", NULL);
    g_signal_connect(self->settings, "changed::threads", G_CALLBACK(apply_threads), NULL);
    g_signal_connect(self->settings, "changed::style", G_CALLBACK(apply_style), NULL);
    apply_style(self->settings, "style", NULL);
    self->store = octiscope_model_store_new(self->settings, octiscope_demo_models_dir());
    self->datasets = octiscope_dataset_store_new(self->settings, octiscope_demo_data_dir());

    static const GActionEntry entries[] = {
        {"quit", quit_action, NULL, NULL, NULL, {0}},
        {"preferences", preferences_action, NULL, NULL, NULL, {0}},
        {"about", about_action, NULL, NULL, NULL, {0}},
    };
    g_action_map_add_action_entries(G_ACTION_MAP(app), entries, G_N_ELEMENTS(entries), app);
    static const char *const quit_accels[] = {"<Control>q", NULL};
    static const char *const prefs_accels[] = {"<Control>comma", NULL};
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.quit", quit_accels);
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.preferences", prefs_accels);
    static const char *const add_accels[] = {"<Control>o", NULL}, *const image_accels[] = {"<Control>i", NULL},
                             *const export_accels[] = {"<Control>e", NULL},
                             *const next_accels[] = {"<Control>bracketright", NULL},
                             *const prev_accels[] = {"<Control>bracketleft", NULL};
    // the window's own bindings do the work; these make the shortcuts window show the keys
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.add-model", add_accels);
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.open-image", image_accels);
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.export", export_accels);
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.next-block", next_accels);
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.previous-block", prev_accels);
}

static void dispose(GObject *object) {
    OctiscopeApplication *self = OCTISCOPE_APPLICATION(object);
    g_clear_object(&self->store);
    g_clear_object(&self->datasets);
    g_clear_object(&self->settings);
    G_OBJECT_CLASS(octiscope_application_parent_class)->dispose(object);
}

static void octiscope_application_class_init(OctiscopeApplicationClass *klass) {
    G_OBJECT_CLASS(klass)->dispose = dispose;
    G_APPLICATION_CLASS(klass)->startup = startup;
    G_APPLICATION_CLASS(klass)->activate = activate;
    G_APPLICATION_CLASS(klass)->open = open_files;
}

static void octiscope_application_init(OctiscopeApplication *self) {}

OctiscopeApplication *octiscope_application_new(GApplicationFlags flags) {
    return g_object_new(OCTISCOPE_TYPE_APPLICATION, "application-id", OCTISCOPE_APP_ID, "flags",
                        flags | G_APPLICATION_HANDLES_OPEN, "resource-base-path", "/org/octiscope/Octiscope", NULL);
}

GSettings *octiscope_application_get_settings(OctiscopeApplication *self) {
    return self->settings;
}

OctiscopeModelStore *octiscope_application_get_store(OctiscopeApplication *self) {
    return self->store;
}

OctiscopeDatasetStore *octiscope_application_get_datasets(OctiscopeApplication *self) {
    return self->datasets;
}
