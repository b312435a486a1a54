/* The studio's library of models (see octiscope-model-store.h). */
#include "octiscope-model-store.h"

#include "undo.h"

struct _OctiscopeModelStore {
    GObject parent_instance;
    GPtrArray *entries; /* OctiscopeModelEntry */
    GPtrArray *removed;  /* OctiscopeModelEntry taken out, the latest last, for an undo */
    GArray *removed_at;  /* guint: where each was */
    GSettings *settings;
};

static void list_model_iface_init(GListModelInterface *iface);
G_DEFINE_TYPE_WITH_CODE(OctiscopeModelStore, octiscope_model_store, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, list_model_iface_init))

const char *const octiscope_demo_model_files[3] = {"demo-hybrid-deit3.safetensors",
                                                   "demo-invariant-deit3.safetensors",
                                                   "demo-standard-deit3.safetensors"};

static GType get_item_type(GListModel *list) {
    return OCTISCOPE_TYPE_MODEL_ENTRY;
}

static guint get_n_items(GListModel *list) {
    return OCTISCOPE_MODEL_STORE(list)->entries->len;
}

static gpointer get_item(GListModel *list, guint position) {
    OctiscopeModelStore *self = OCTISCOPE_MODEL_STORE(list);
    return position < self->entries->len ? g_object_ref(g_ptr_array_index(self->entries, position)) : NULL;
}

static void list_model_iface_init(GListModelInterface *iface) {
    iface->get_item_type = get_item_type;
    iface->get_n_items = get_n_items;
    iface->get_item = get_item;
}

static void octiscope_model_store_finalize(GObject *object) {
    OctiscopeModelStore *self = OCTISCOPE_MODEL_STORE(object);
    g_ptr_array_unref(self->entries);
    g_ptr_array_unref(self->removed);
    g_array_unref(self->removed_at);
    g_clear_object(&self->settings);
    G_OBJECT_CLASS(octiscope_model_store_parent_class)->finalize(object);
}

static void octiscope_model_store_class_init(OctiscopeModelStoreClass *klass) {
    G_OBJECT_CLASS(klass)->finalize = octiscope_model_store_finalize;
}

static void octiscope_model_store_init(OctiscopeModelStore *self) {
    self->entries = g_ptr_array_new_with_free_func(g_object_unref);
    self->removed = g_ptr_array_new_with_free_func(g_object_unref);
    self->removed_at = g_array_new(FALSE, FALSE, sizeof(guint));
}

void octiscope_model_store_save(OctiscopeModelStore *self) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_STORE(self));
    if (!self->settings) return;
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(si)"));
    for (guint i = 0; i < self->entries->len; i++) {
        OctiscopeModelEntry *e = g_ptr_array_index(self->entries, i);
        g_variant_builder_add(&b, "(si)", octiscope_model_entry_get_path(e), octiscope_model_entry_get_heads(e));
    }
    g_settings_set_value(self->settings, "models", g_variant_builder_end(&b));
}

static void on_heads_changed(OctiscopeModelEntry *entry, GParamSpec *pspec, OctiscopeModelStore *self) {
    octiscope_model_store_save(self);
}

/* Appends without saving. */
static OctiscopeModelEntry *append(OctiscopeModelStore *self, const char *path, int heads, gboolean demo) {
    OctiscopeModelEntry *e = octiscope_model_entry_new(path, heads, demo);
    g_signal_connect_object(e, "notify::heads", G_CALLBACK(on_heads_changed), self, 0);
    g_ptr_array_add(self->entries, e);
    g_list_model_items_changed(G_LIST_MODEL(self), self->entries->len - 1, 0, 1);
    octiscope_model_entry_probe_async(e);
    return e;
}

static gboolean is_demo_path(const char *demo_dir, const char *path) {
    if (!demo_dir) return FALSE;
    g_autofree char *dir = g_path_get_dirname(path);
    return g_strcmp0(dir, demo_dir) == 0;
}

OctiscopeModelStore *octiscope_model_store_new(GSettings *settings, const char *demo_dir) {
    OctiscopeModelStore *self = g_object_new(OCTISCOPE_TYPE_MODEL_STORE, NULL);
    if (settings) self->settings = g_object_ref(settings);
    if (settings) {
        g_autoptr(GVariant) models = g_settings_get_value(settings, "models");
        GVariantIter it;
        const char *path;
        int heads;
        g_variant_iter_init(&it, models);
        while (g_variant_iter_next(&it, "(&si)", &path, &heads))
            if (!octiscope_model_store_find(self, path, NULL)) append(self, path, heads, is_demo_path(demo_dir, path));
    }
    if (demo_dir && (!settings || !g_settings_get_boolean(settings, "demo-added"))) {
        for (int i = 0; i < 3; i++) {
            g_autofree char *path = g_build_filename(demo_dir, octiscope_demo_model_files[i], NULL);
            if (g_file_test(path, G_FILE_TEST_EXISTS) && !octiscope_model_store_find(self, path, NULL))
                append(self, path, 0, TRUE);
        }
        if (settings) g_settings_set_boolean(settings, "demo-added", TRUE);
        octiscope_model_store_save(self);
    }
    return self;
}

OctiscopeModelEntry *octiscope_model_store_find(OctiscopeModelStore *self, const char *path, guint *position) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_STORE(self), NULL);
    for (guint i = 0; i < self->entries->len; i++) {
        OctiscopeModelEntry *e = g_ptr_array_index(self->entries, i);
        if (g_strcmp0(octiscope_model_entry_get_path(e), path) == 0) {
            if (position) *position = i;
            return e;
        }
    }
    return NULL;
}

OctiscopeModelEntry *octiscope_model_store_find_kind(OctiscopeModelStore *self, octic_kind kind) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_STORE(self), NULL);
    for (guint i = 0; i < self->entries->len; i++) {
        OctiscopeModelEntry *e = g_ptr_array_index(self->entries, i);
        if (octiscope_model_entry_get_state(e) == OCTISCOPE_MODEL_READY &&
            octiscope_model_entry_get_config(e)->kind == kind)
            return e;
    }
    return NULL;
}

OctiscopeModelEntry *octiscope_model_store_add(OctiscopeModelStore *self, const char *path, int heads) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_STORE(self), NULL);
    g_return_val_if_fail(path != NULL, NULL);
    OctiscopeModelEntry *e = octiscope_model_store_find(self, path, NULL);
    if (e) return e;
    e = append(self, path, heads, FALSE);
    octiscope_model_store_save(self);
    return e;
}

void octiscope_model_store_remove(OctiscopeModelStore *self, guint position) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_STORE(self));
    g_return_if_fail(position < self->entries->len);
    OctiscopeModelEntry *e = g_ptr_array_steal_index(self->entries, position);
    octiscope_model_entry_drop_weights(e); /* kept for an undo, without its weights */
    octiscope_undo_shift(self->removed_at, position, -1);
    g_ptr_array_add(self->removed, e);
    g_array_append_val(self->removed_at, position);
    if (self->removed->len > OCTISCOPE_UNDO_DEPTH) {
        g_ptr_array_remove_index(self->removed, 0);
        g_array_remove_index(self->removed_at, 0);
    }
    g_list_model_items_changed(G_LIST_MODEL(self), position, 1, 0);
    octiscope_model_store_save(self);
}

OctiscopeModelEntry *octiscope_model_store_restore(OctiscopeModelStore *self, const char *path) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_STORE(self), NULL);
    if (octiscope_model_store_find(self, path, NULL)) return NULL; /* added again meanwhile */
    for (guint i = self->removed->len; i-- > 0;) {
        OctiscopeModelEntry *e = g_ptr_array_index(self->removed, i);
        if (g_strcmp0(octiscope_model_entry_get_path(e), path) != 0) continue;
        guint at = MIN(g_array_index(self->removed_at, guint, i), self->entries->len);
        g_ptr_array_insert(self->entries, (gint)at, g_ptr_array_steal_index(self->removed, i));
        octiscope_undo_shift(self->removed_at, at, (int)i);
        g_array_remove_index(self->removed_at, i);
        g_list_model_items_changed(G_LIST_MODEL(self), at, 0, 1);
        octiscope_model_store_save(self);
        return e;
    }
    return NULL;
}
