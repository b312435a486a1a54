/* The library page (see octiscope-library-page.h). */
#include "octiscope-library-page.h"

struct _OctiscopeLibraryPage {
    AdwBin parent_instance;
    GtkColumnView *models_view;
    GtkButton *inspect_button, *compare_button, *heads_button, *remove_button;
    GtkLabel *error_label;
    GtkListBox *datasets_list;
    OctiscopeDatasetStore *datasets;

    OctiscopeModelStore *store;
    GtkSingleSelection *selection;
    OctiscopeModelEntry *watched; /* the selected entry, whose state we follow */
};

G_DEFINE_TYPE(OctiscopeLibraryPage, octiscope_library_page, ADW_TYPE_BIN)

enum { SIGNAL_INSPECT, SIGNAL_ASK_HEADS, SIGNAL_BROWSE, SIGNAL_REMOVED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void update_buttons(OctiscopeLibraryPage *self) {
    OctiscopeModelEntry *e = octiscope_library_page_get_selected(self);
    OctiscopeModelState st = e ? octiscope_model_entry_get_state(e) : OCTISCOPE_MODEL_FAILED;
    gtk_widget_set_sensitive(GTK_WIDGET(self->inspect_button), e && st == OCTISCOPE_MODEL_READY);
    gtk_widget_set_sensitive(GTK_WIDGET(self->compare_button), e && st == OCTISCOPE_MODEL_READY);
    /* heads only for a file whose shape was read (not one that failed to load) */
    gtk_widget_set_sensitive(GTK_WIDGET(self->heads_button),
                             e && st != OCTISCOPE_MODEL_PROBING && octiscope_model_entry_get_config(e)->dim > 0);
    gtk_widget_set_sensitive(GTK_WIDGET(self->remove_button), e != NULL);
    const char *err = e ? octiscope_model_entry_get_error(e) : NULL;
    gtk_widget_set_visible(GTK_WIDGET(self->error_label), err != NULL);
    gtk_label_set_label(self->error_label, err ? err : "");
}

static void on_entry_state(OctiscopeModelEntry *e, GParamSpec *pspec, OctiscopeLibraryPage *self) {
    update_buttons(self);
}

static void on_selection_changed(GtkSingleSelection *selection, GParamSpec *pspec, OctiscopeLibraryPage *self) {
    if (self->watched) g_signal_handlers_disconnect_by_func(self->watched, on_entry_state, self);
    g_clear_object(&self->watched);
    OctiscopeModelEntry *e = octiscope_library_page_get_selected(self);
    if (e) {
        self->watched = g_object_ref(e);
        g_signal_connect(e, "notify::state", G_CALLBACK(on_entry_state), self);
    }
    update_buttons(self);
}

static void on_inspect(GtkButton *button, OctiscopeLibraryPage *self) {
    OctiscopeModelEntry *e = octiscope_library_page_get_selected(self);
    if (e) g_signal_emit(self, signals[SIGNAL_INSPECT], 0, e, button == self->compare_button);
}

static void on_heads(GtkButton *button, OctiscopeLibraryPage *self) {
    OctiscopeModelEntry *e = octiscope_library_page_get_selected(self);
    if (e) g_signal_emit(self, signals[SIGNAL_ASK_HEADS], 0, e);
}

static void on_remove(GtkButton *button, OctiscopeLibraryPage *self) {
    OctiscopeModelEntry *e = octiscope_library_page_get_selected(self);
    guint pos;
    if (!e || !octiscope_model_store_find(self->store, octiscope_model_entry_get_path(e), &pos)) return;
    /* what names it for an undo */
    g_autofree char *path = g_strdup(octiscope_model_entry_get_path(e));
    g_autofree char *title = g_strdup(octiscope_model_entry_get_title(e));
    octiscope_model_store_remove(self->store, pos);
    g_signal_emit(self, signals[SIGNAL_REMOVED], 0, FALSE, path, title);
}

static void on_activate(GtkColumnView *view, guint position, OctiscopeLibraryPage *self) {
    g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(G_LIST_MODEL(self->selection), position);
    if (e && octiscope_model_entry_get_state(e) == OCTISCOPE_MODEL_READY)
        g_signal_emit(self, signals[SIGNAL_INSPECT], 0, e, FALSE);
    else if (e && octiscope_model_entry_get_state(e) == OCTISCOPE_MODEL_NEEDS_HEADS)
        g_signal_emit(self, signals[SIGNAL_ASK_HEADS], 0, e);
}

void octiscope_library_page_set_store(OctiscopeLibraryPage *self, OctiscopeModelStore *store) {
    g_return_if_fail(OCTISCOPE_IS_LIBRARY_PAGE(self));
    g_set_object(&self->store, store);
    GtkSorter *sorter = gtk_column_view_get_sorter(self->models_view);
    GtkSortListModel *sorted = gtk_sort_list_model_new(g_object_ref(G_LIST_MODEL(store)), g_object_ref(sorter));
    g_clear_object(&self->selection);
    self->selection = gtk_single_selection_new(G_LIST_MODEL(sorted));
    g_signal_connect(self->selection, "notify::selected-item", G_CALLBACK(on_selection_changed), self);
    gtk_column_view_set_model(self->models_view, GTK_SELECTION_MODEL(self->selection));
    on_selection_changed(self->selection, NULL, self);
}

OctiscopeModelEntry *octiscope_library_page_get_selected(OctiscopeLibraryPage *self) {
    g_return_val_if_fail(OCTISCOPE_IS_LIBRARY_PAGE(self), NULL);
    if (!self->selection) return NULL;
    gpointer item = gtk_single_selection_get_selected_item(self->selection);
    return item ? OCTISCOPE_MODEL_ENTRY(item) : NULL;
}

void octiscope_library_page_select(OctiscopeLibraryPage *self, OctiscopeModelEntry *entry) {
    g_return_if_fail(OCTISCOPE_IS_LIBRARY_PAGE(self));
    if (!self->selection) return;
    GListModel *list = G_LIST_MODEL(self->selection);
    for (guint i = 0, n = g_list_model_get_n_items(list); i < n; i++) {
        g_autoptr(GObject) item = g_list_model_get_item(list, i);
        if (item == G_OBJECT(entry)) {
            gtk_single_selection_set_selected(self->selection, i);
            return;
        }
    }
}

/* ---- data sets ------------------------------------------------------------------- */

static void on_browse(GtkButton *button, OctiscopeLibraryPage *self) {
    g_signal_emit(self, signals[SIGNAL_BROWSE], 0, g_object_get_data(G_OBJECT(button), "entry"));
}

static void on_remove_dataset(GtkButton *button, OctiscopeLibraryPage *self) {
    OctiscopeDatasetEntry *e = g_object_get_data(G_OBJECT(button), "entry");
    guint pos;
    if (!octiscope_dataset_store_find(self->datasets, octiscope_dataset_entry_get_root(e), &pos)) return;
    g_autofree char *root = g_strdup(octiscope_dataset_entry_get_root(e));
    g_autofree char *title = g_strdup(octiscope_dataset_entry_get_title(e));
    octiscope_dataset_store_remove(self->datasets, pos); /* which may drop e's last reference but the button's */
    g_signal_emit(self, signals[SIGNAL_REMOVED], 0, TRUE, root, title);
}

static GtkWidget *dataset_row(gpointer item, gpointer user) {
    OctiscopeLibraryPage *self = user;
    OctiscopeDatasetEntry *e = item;
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE); /* a folder may be named "R&D <x>" */
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), octiscope_dataset_entry_get_title(e));
    g_object_bind_property(e, "summary", row, "subtitle", G_BINDING_SYNC_CREATE);
    gtk_widget_set_tooltip_text(row, octiscope_dataset_entry_get_root(e));
    GtkWidget *browse = gtk_button_new_with_label("Browse");
    gtk_widget_set_valign(browse, GTK_ALIGN_CENTER);
    g_object_set_data_full(G_OBJECT(browse), "entry", g_object_ref(e), g_object_unref);
    g_signal_connect(browse, "clicked", G_CALLBACK(on_browse), self);
    GtkWidget *remove = gtk_button_new_from_icon_name("user-trash-symbolic");
    gtk_widget_set_tooltip_text(remove, "Remove from the library (the files stay)");
    gtk_widget_set_valign(remove, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(remove, "flat");
    g_object_set_data_full(G_OBJECT(remove), "entry", g_object_ref(e), g_object_unref);
    g_signal_connect(remove, "clicked", G_CALLBACK(on_remove_dataset), self);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), browse);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), remove);
    return row;
}

void octiscope_library_page_set_dataset_store(OctiscopeLibraryPage *self, OctiscopeDatasetStore *store) {
    g_return_if_fail(OCTISCOPE_IS_LIBRARY_PAGE(self));
    g_set_object(&self->datasets, store);
    gtk_list_box_bind_model(self->datasets_list, G_LIST_MODEL(store), dataset_row, self, NULL);
}

static void dispose(GObject *object) {
    OctiscopeLibraryPage *self = OCTISCOPE_LIBRARY_PAGE(object);
    if (self->watched) g_signal_handlers_disconnect_by_func(self->watched, on_entry_state, self);
    g_clear_object(&self->watched);
    if (self->selection) g_signal_handlers_disconnect_by_func(self->selection, on_selection_changed, self);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_LIBRARY_PAGE);
    g_clear_object(&self->selection);
    g_clear_object(&self->store);
    g_clear_object(&self->datasets);
    G_OBJECT_CLASS(octiscope_library_page_parent_class)->dispose(object);
}

static void octiscope_library_page_class_init(OctiscopeLibraryPageClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    g_type_ensure(OCTISCOPE_TYPE_MODEL_ENTRY);
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-library-page.ui");
    gtk_widget_class_bind_template_child(widget_class, OctiscopeLibraryPage, models_view);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeLibraryPage, inspect_button);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeLibraryPage, compare_button);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeLibraryPage, heads_button);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeLibraryPage, remove_button);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeLibraryPage, error_label);
    gtk_widget_class_bind_template_child(widget_class, OctiscopeLibraryPage, datasets_list);
    signals[SIGNAL_INSPECT] = g_signal_new("inspect", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 2, OCTISCOPE_TYPE_MODEL_ENTRY, G_TYPE_BOOLEAN);
    signals[SIGNAL_ASK_HEADS] = g_signal_new("ask-heads", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                             NULL, G_TYPE_NONE, 1, OCTISCOPE_TYPE_MODEL_ENTRY);
    signals[SIGNAL_BROWSE] = g_signal_new("browse", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 1, OCTISCOPE_TYPE_DATASET_ENTRY);
    signals[SIGNAL_REMOVED] = g_signal_new("removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 3, G_TYPE_BOOLEAN, G_TYPE_STRING, G_TYPE_STRING);
}

static void octiscope_library_page_init(OctiscopeLibraryPage *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
    g_signal_connect(self->inspect_button, "clicked", G_CALLBACK(on_inspect), self);
    g_signal_connect(self->compare_button, "clicked", G_CALLBACK(on_inspect), self);
    g_signal_connect(self->heads_button, "clicked", G_CALLBACK(on_heads), self);
    g_signal_connect(self->remove_button, "clicked", G_CALLBACK(on_remove), self);
    g_signal_connect(self->models_view, "activate", G_CALLBACK(on_activate), self);
}
