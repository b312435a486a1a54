/* The studio's data sets (see octiscope-dataset-store.h). */
#include "octiscope-dataset-store.h"

#include "undo.h"

struct _OctiscopeDatasetStore {
    GObject parent_instance;
    GPtrArray *entries;
    GPtrArray *removed;  /* the roots taken out, the latest last, for an undo (their indexes let go) */
    GArray *removed_at;  /* guint: where each was, kept in step with later changes */
    GArray *removed_demo; /* gboolean: each was a demo set */
    GSettings *settings;
};

static void list_model_iface_init(GListModelInterface *iface);
G_DEFINE_TYPE_WITH_CODE(OctiscopeDatasetStore, octiscope_dataset_store, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, list_model_iface_init))

/* The demo data sets below the demo folder. */
static const char *const demo_sets[] = {"imagenet", "voc"};

static GType get_item_type(GListModel *list) {
    return OCTISCOPE_TYPE_DATASET_ENTRY;
}
static guint get_n_items(GListModel *list) {
    return OCTISCOPE_DATASET_STORE(list)->entries->len;
}
static gpointer get_item(GListModel *list, guint position) {
    OctiscopeDatasetStore *self = OCTISCOPE_DATASET_STORE(list);
    return position < self->entries->len ? g_object_ref(g_ptr_array_index(self->entries, position)) : NULL;
}
static void list_model_iface_init(GListModelInterface *iface) {
    iface->get_item_type = get_item_type;
    iface->get_n_items = get_n_items;
    iface->get_item = get_item;
}

static void finalize(GObject *object) {
    OctiscopeDatasetStore *self = OCTISCOPE_DATASET_STORE(object);
    g_ptr_array_unref(self->entries);
    g_ptr_array_unref(self->removed);
    g_array_unref(self->removed_at);
    g_array_unref(self->removed_demo);
    g_clear_object(&self->settings);
    G_OBJECT_CLASS(octiscope_dataset_store_parent_class)->finalize(object);
}

static void octiscope_dataset_store_class_init(OctiscopeDatasetStoreClass *klass) {
    G_OBJECT_CLASS(klass)->finalize = finalize;
}

static void octiscope_dataset_store_init(OctiscopeDatasetStore *self) {
    self->entries = g_ptr_array_new_with_free_func(g_object_unref);
    self->removed = g_ptr_array_new_with_free_func(g_free);
    self->removed_at = g_array_new(FALSE, FALSE, sizeof(guint));
    self->removed_demo = g_array_new(FALSE, FALSE, sizeof(gboolean));
}

static void save(OctiscopeDatasetStore *self) {
    if (!self->settings) return;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint i = 0; i < self->entries->len; i++)
        g_strv_builder_add(b, octiscope_dataset_entry_get_root(g_ptr_array_index(self->entries, i)));
    g_auto(GStrv) roots = g_strv_builder_end(b);
    g_settings_set_strv(self->settings, "datasets", (const char *const *)roots);
}

static OctiscopeDatasetEntry *append(OctiscopeDatasetStore *self, const char *root, gboolean demo) {
    OctiscopeDatasetEntry *e = octiscope_dataset_entry_new(root, demo);
    g_ptr_array_add(self->entries, e);
    g_list_model_items_changed(G_LIST_MODEL(self), self->entries->len - 1, 0, 1);
    return e;
}

OctiscopeDatasetStore *octiscope_dataset_store_new(GSettings *settings, const char *demo_dir) {
    OctiscopeDatasetStore *self = g_object_new(OCTISCOPE_TYPE_DATASET_STORE, NULL);
    if (settings) {
        self->settings = g_object_ref(settings);
        g_auto(GStrv) roots = g_settings_get_strv(settings, "datasets");
        for (int i = 0; roots[i]; i++) {
            g_autofree char *dir = g_path_get_dirname(roots[i]);
            if (!octiscope_dataset_store_find(self, roots[i], NULL)) append(self, roots[i], g_strcmp0(dir, demo_dir) == 0);
        }
    }
    if (demo_dir && (!settings || !g_settings_get_boolean(settings, "demo-datasets-added"))) {
        for (size_t i = 0; i < G_N_ELEMENTS(demo_sets); i++) {
            g_autofree char *root = g_build_filename(demo_dir, demo_sets[i], NULL);
            if (g_file_test(root, G_FILE_TEST_IS_DIR) && !octiscope_dataset_store_find(self, root, NULL))
                append(self, root, TRUE);
        }
        if (settings) g_settings_set_boolean(settings, "demo-datasets-added", TRUE);
        save(self);
    }
    return self;
}

OctiscopeDatasetEntry *octiscope_dataset_store_find(OctiscopeDatasetStore *self, const char *root, guint *position) {
    g_return_val_if_fail(OCTISCOPE_IS_DATASET_STORE(self), NULL);
    for (guint i = 0; i < self->entries->len; i++) {
        OctiscopeDatasetEntry *e = g_ptr_array_index(self->entries, i);
        if (g_strcmp0(octiscope_dataset_entry_get_root(e), root) == 0) {
            if (position) *position = i;
            return e;
        }
    }
    return NULL;
}

OctiscopeDatasetEntry *octiscope_dataset_store_add(OctiscopeDatasetStore *self, const char *root) {
    g_return_val_if_fail(OCTISCOPE_IS_DATASET_STORE(self), NULL);
    OctiscopeDatasetEntry *e = octiscope_dataset_store_find(self, root, NULL);
    if (e) return e;
    e = append(self, root, FALSE);
    save(self);
    return e;
}

void octiscope_dataset_store_remove(OctiscopeDatasetStore *self, guint position) {
    g_return_if_fail(OCTISCOPE_IS_DATASET_STORE(self));
    g_return_if_fail(position < self->entries->len);
    OctiscopeDatasetEntry *e = g_ptr_array_steal_index(self->entries, position);
    gboolean demo = octiscope_dataset_entry_get_demo(e);
    octiscope_undo_shift(self->removed_at, position, -1);
    g_ptr_array_add(self->removed, g_strdup(octiscope_dataset_entry_get_root(e)));
    g_array_append_val(self->removed_at, position);
    g_array_append_val(self->removed_demo, demo);
    g_object_unref(e); /* its index of the files goes with it (a restore opens the set again) */
    if (self->removed->len > OCTISCOPE_UNDO_DEPTH) {
        g_ptr_array_remove_index(self->removed, 0);
        g_array_remove_index(self->removed_at, 0);
        g_array_remove_index(self->removed_demo, 0);
    }
    g_list_model_items_changed(G_LIST_MODEL(self), position, 1, 0);
    save(self);
}

OctiscopeDatasetEntry *octiscope_dataset_store_restore(OctiscopeDatasetStore *self, const char *root) {
    g_return_val_if_fail(OCTISCOPE_IS_DATASET_STORE(self), NULL);
    if (octiscope_dataset_store_find(self, root, NULL)) return NULL; /* added again meanwhile */
    for (guint i = self->removed->len; i-- > 0;) {
        if (g_strcmp0(g_ptr_array_index(self->removed, i), root) != 0) continue;
        guint at = MIN(g_array_index(self->removed_at, guint, i), self->entries->len);
        OctiscopeDatasetEntry *e = octiscope_dataset_entry_new(root, g_array_index(self->removed_demo, gboolean, i));
        g_ptr_array_insert(self->entries, (gint)at, e);
        octiscope_undo_shift(self->removed_at, at, (int)i);
        g_ptr_array_remove_index(self->removed, i);
        g_array_remove_index(self->removed_at, i);
        g_array_remove_index(self->removed_demo, i);
        g_list_model_items_changed(G_LIST_MODEL(self), at, 0, 1);
        save(self);
        return e;
    }
    return NULL;
}
