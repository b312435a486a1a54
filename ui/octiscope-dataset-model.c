/* The items of one split as a filtered GListModel (see octiscope-dataset-model.h). */
#include "octiscope-dataset-model.h"

#include "background.h"
#include <string.h>

/* ---- one item ---------------------------------------------------------------- */

struct _OctiscopeDatasetItem {
    GObject parent_instance;
    OctiscopeDatasetEntry *entry; /* keeps the data set (and its strings) alive */
    gsize index;
    octic_dataset_item item;
};

G_DEFINE_TYPE(OctiscopeDatasetItem, octiscope_dataset_item, G_TYPE_OBJECT)

enum { ITEM_PROP_0, ITEM_PROP_NAME, ITEM_N_PROPS };
static GParamSpec *item_props[ITEM_N_PROPS];

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void item_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
    OctiscopeDatasetItem *self = OCTISCOPE_DATASET_ITEM(object);
    if (prop_id == ITEM_PROP_NAME)
        g_value_set_string(value, base_name(self->item.image));
    else
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
}

static void item_finalize(GObject *object) {
    g_clear_object(&OCTISCOPE_DATASET_ITEM(object)->entry);
    G_OBJECT_CLASS(octiscope_dataset_item_parent_class)->finalize(object);
}

static void octiscope_dataset_item_class_init(OctiscopeDatasetItemClass *klass) {
    G_OBJECT_CLASS(klass)->get_property = item_get_property;
    G_OBJECT_CLASS(klass)->finalize = item_finalize;
    item_props[ITEM_PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(G_OBJECT_CLASS(klass), ITEM_N_PROPS, item_props);
}

static void octiscope_dataset_item_init(OctiscopeDatasetItem *self) {}

gsize octiscope_dataset_item_get_index(OctiscopeDatasetItem *self) {
    return self->index;
}
const char *octiscope_dataset_item_get_image(OctiscopeDatasetItem *self) {
    return self->item.image;
}
const char *octiscope_dataset_item_get_mask(OctiscopeDatasetItem *self) {
    return self->item.mask;
}
int octiscope_dataset_item_get_label(OctiscopeDatasetItem *self) {
    return self->item.label;
}
const char *octiscope_dataset_item_get_name(OctiscopeDatasetItem *self) {
    return base_name(self->item.image);
}

/* ---- the list ------------------------------------------------------------------ */

struct _OctiscopeDatasetModel {
    GObject parent_instance;
    OctiscopeDatasetEntry *entry;
    int split;
    gsize total;
    guint32 *indices; /* NULL: every item */
    gsize n;
    GCancellable *filtering;
};

static void list_model_iface_init(GListModelInterface *iface);
G_DEFINE_TYPE_WITH_CODE(OctiscopeDatasetModel, octiscope_dataset_model, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, list_model_iface_init))

enum { SIGNAL_FILTERED, N_SIGNALS };
static guint signals[N_SIGNALS];

static GType get_item_type(GListModel *list) {
    return OCTISCOPE_TYPE_DATASET_ITEM;
}

static guint get_n_items(GListModel *list) {
    return (guint)OCTISCOPE_DATASET_MODEL(list)->n;
}

static gpointer get_item(GListModel *list, guint position) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(list);
    if (position >= self->n) return NULL;
    gsize index = self->indices ? self->indices[position] : position;
    OctiscopeDatasetItem *item = g_object_new(OCTISCOPE_TYPE_DATASET_ITEM, NULL);
    item->entry = g_object_ref(self->entry);
    item->index = index;
    if (octic_dataset_get_item(octiscope_dataset_entry_get_dataset(self->entry), self->split, index, &item->item)) {
        item->item.image = "?";
        item->item.mask = NULL;
        item->item.label = -1;
    }
    return item;
}

static void list_model_iface_init(GListModelInterface *iface) {
    iface->get_item_type = get_item_type;
    iface->get_n_items = get_n_items;
    iface->get_item = get_item;
}

static void dispose(GObject *object) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(object);
    if (self->filtering) g_cancellable_cancel(self->filtering);
    g_clear_object(&self->filtering);
    G_OBJECT_CLASS(octiscope_dataset_model_parent_class)->dispose(object);
}

static void finalize(GObject *object) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(object);
    g_free(self->indices);
    g_clear_object(&self->entry);
    G_OBJECT_CLASS(octiscope_dataset_model_parent_class)->finalize(object);
}

static void octiscope_dataset_model_class_init(OctiscopeDatasetModelClass *klass) {
    G_OBJECT_CLASS(klass)->dispose = dispose;
    G_OBJECT_CLASS(klass)->finalize = finalize;
    signals[SIGNAL_FILTERED] =
        g_signal_new("filtered", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void octiscope_dataset_model_init(OctiscopeDatasetModel *self) {}

OctiscopeDatasetModel *octiscope_dataset_model_new(OctiscopeDatasetEntry *entry, int split) {
    const octic_dataset *ds = octiscope_dataset_entry_get_dataset(entry);
    g_return_val_if_fail(ds != NULL, NULL);
    g_return_val_if_fail(split >= 0 && split < octic_dataset_split_count(ds), NULL);
    OctiscopeDatasetModel *self = g_object_new(OCTISCOPE_TYPE_DATASET_MODEL, NULL);
    self->entry = g_object_ref(entry);
    self->split = split;
    self->total = self->n = octic_dataset_item_count(ds, split);
    return self;
}

OctiscopeDatasetEntry *octiscope_dataset_model_get_entry(OctiscopeDatasetModel *self) {
    return self->entry;
}
int octiscope_dataset_model_get_split(OctiscopeDatasetModel *self) {
    return self->split;
}
gsize octiscope_dataset_model_get_total(OctiscopeDatasetModel *self) {
    return self->total;
}
gboolean octiscope_dataset_model_is_filtering(OctiscopeDatasetModel *self) {
    return self->filtering != NULL;
}

typedef struct {
    OctiscopeDatasetEntry *entry;
    int split, cls;
    char *search; /* casefolded, or NULL */
    guint32 *indices;
    gsize n;
} filter_job;

static void filter_job_free(filter_job *job) {
    g_object_unref(job->entry);
    g_free(job->search), g_free(job->indices);
    g_free(job);
}

static void filter_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    octiscope_background_lower_priority(); /* a pool thread of background work only */
    filter_job *job = data;
    const octic_dataset *ds = octiscope_dataset_entry_get_dataset(job->entry);
    gsize total = octic_dataset_item_count(ds, job->split);
    job->indices = g_new(guint32, MAX(total, 1));
    for (gsize i = 0; i < total; i++) {
        if ((i & 0xffff) == 0 && g_cancellable_is_cancelled(cancellable)) break;
        octic_dataset_item it;
        if (octic_dataset_get_item(ds, job->split, i, &it)) continue;
        if (job->cls >= 0 && it.label != job->cls) continue;
        if (job->search) {
            g_autofree char *name = g_utf8_casefold(base_name(it.image), -1);
            if (!strstr(name, job->search)) continue;
        }
        job->indices[job->n++] = (guint32)i;
    }
    g_task_return_boolean(task, TRUE);
}

static void filter_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(source);
    if (g_task_get_cancellable(G_TASK(res)) != self->filtering) return; /* replaced */
    g_clear_object(&self->filtering);
    filter_job *job = g_task_get_task_data(G_TASK(res));
    gsize old = self->n;
    g_free(self->indices);
    self->indices = job->indices;
    job->indices = NULL;
    self->n = 0;
    /* two changes, all out then all in: in one change GTK 4.8's list views
     * look up every added item to reuse the removed items' widgets, 1.28 M
     * get_item calls on the main thread (a second or more) */
    if (old) g_list_model_items_changed(G_LIST_MODEL(self), 0, (guint)old, 0);
    self->n = job->n;
    if (self->n) g_list_model_items_changed(G_LIST_MODEL(self), 0, 0, (guint)self->n);
    g_signal_emit(self, signals[SIGNAL_FILTERED], 0);
}

void octiscope_dataset_model_set_filter(OctiscopeDatasetModel *self, int cls, const char *search) {
    g_return_if_fail(OCTISCOPE_IS_DATASET_MODEL(self));
    if (self->filtering) g_cancellable_cancel(self->filtering);
    g_clear_object(&self->filtering);
    if (cls < 0 && (!search || !*search) && !self->indices) {
        g_signal_emit(self, signals[SIGNAL_FILTERED], 0); /* no filter, and none shown: nothing changes */
        return;
    }
    self->filtering = g_cancellable_new();
    filter_job *job = g_new0(filter_job, 1);
    job->entry = g_object_ref(self->entry);
    job->split = self->split;
    job->cls = cls;
    job->search = search && *search ? g_utf8_casefold(search, -1) : NULL;
    GTask *task = g_task_new(self, self->filtering, filter_done, NULL);
    g_task_set_task_data(task, job, (GDestroyNotify)filter_job_free);
    g_task_run_in_thread(task, filter_thread);
    g_object_unref(task);
}
