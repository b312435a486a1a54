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

/* What the list shows: a split's items, all of them or those at indices. */
typedef struct {
    OctiscopeDatasetEntry *entry; /* NULL: nothing */
    int split;
    guint32 *indices; /* NULL: every item */
    gsize n;
} view;

static void view_clear(view *v) {
    g_clear_object(&v->entry);
    g_clear_pointer(&v->indices, g_free);
    v->n = 0;
}

struct _OctiscopeDatasetModel {
    GObject parent_instance;
    view shown;
    view leaving; /* while a list is replaced: the old one, behind the new one */
    gsize total;  /* items in the shown split */
    GCancellable *filtering;
};

static void list_model_iface_init(GListModelInterface *iface);
G_DEFINE_TYPE_WITH_CODE(OctiscopeDatasetModel, octiscope_dataset_model, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, list_model_iface_init))

enum { SIGNAL_FILTERED, SIGNAL_REPLACING, N_SIGNALS };
static guint signals[N_SIGNALS];

static GType get_item_type(GListModel *list) {
    return OCTISCOPE_TYPE_DATASET_ITEM;
}

static guint get_n_items(GListModel *list) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(list);
    return (guint)(self->shown.n + self->leaving.n);
}

static gpointer get_item(GListModel *list, guint position) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(list);
    const view *v = &self->shown;
    gsize at = position;
    if (at >= v->n) at -= v->n, v = &self->leaving;
    if (at >= v->n) return NULL;
    gsize index = v->indices ? v->indices[at] : at;
    OctiscopeDatasetItem *item = g_object_new(OCTISCOPE_TYPE_DATASET_ITEM, NULL);
    item->entry = g_object_ref(v->entry);
    item->index = index;
    if (octic_dataset_get_item(octiscope_dataset_entry_get_dataset(v->entry), v->split, index, &item->item)) {
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

/* Shows next (taken) instead of the current list. The new list comes in
 * front of the old one, "replacing" lets a view move to the top, then the old
 * list goes: a list view then rebinds the widgets it has to the new items,
 * where one change (or all out, all in) makes it drop its ~200 widgets and
 * make new ones; and in one change GTK 4.8's list views also look up every
 * added item (1.28 M get_item calls) to find the removed items again. */
static void replace(OctiscopeDatasetModel *self, view *next) {
    g_assert(self->leaving.entry == NULL && self->leaving.n == 0);
    self->leaving = self->shown;
    self->shown = *next;
    *next = (view){0};
    guint added = (guint)self->shown.n, removed = (guint)self->leaving.n;
    if (added && removed) {
        g_list_model_items_changed(G_LIST_MODEL(self), 0, 0, added);
        g_signal_emit(self, signals[SIGNAL_REPLACING], 0);
        view_clear(&self->leaving);
        g_list_model_items_changed(G_LIST_MODEL(self), added, removed, 0);
    } else {
        view_clear(&self->leaving);
        if (added || removed) g_list_model_items_changed(G_LIST_MODEL(self), 0, removed, added);
    }
}

static void dispose(GObject *object) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(object);
    if (self->filtering) g_cancellable_cancel(self->filtering);
    g_clear_object(&self->filtering);
    G_OBJECT_CLASS(octiscope_dataset_model_parent_class)->dispose(object);
}

static void finalize(GObject *object) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(object);
    view_clear(&self->shown);
    view_clear(&self->leaving);
    G_OBJECT_CLASS(octiscope_dataset_model_parent_class)->finalize(object);
}

static void octiscope_dataset_model_class_init(OctiscopeDatasetModelClass *klass) {
    G_OBJECT_CLASS(klass)->dispose = dispose;
    G_OBJECT_CLASS(klass)->finalize = finalize;
    signals[SIGNAL_FILTERED] =
        g_signal_new("filtered", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
    signals[SIGNAL_REPLACING] =
        g_signal_new("replacing", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void octiscope_dataset_model_init(OctiscopeDatasetModel *self) {}

static gboolean split_view(OctiscopeDatasetEntry *entry, int split, view *out) {
    const octic_dataset *ds = octiscope_dataset_entry_get_dataset(entry);
    g_return_val_if_fail(ds != NULL, FALSE);
    g_return_val_if_fail(split >= 0 && split < octic_dataset_split_count(ds), FALSE);
    *out = (view){g_object_ref(entry), split, NULL, octic_dataset_item_count(ds, split)};
    return TRUE;
}

OctiscopeDatasetModel *octiscope_dataset_model_new(OctiscopeDatasetEntry *entry, int split) {
    view v;
    if (!split_view(entry, split, &v)) return NULL;
    OctiscopeDatasetModel *self = g_object_new(OCTISCOPE_TYPE_DATASET_MODEL, NULL);
    self->shown = v;
    self->total = v.n;
    return self;
}

void octiscope_dataset_model_set_split(OctiscopeDatasetModel *self, OctiscopeDatasetEntry *entry, int split) {
    g_return_if_fail(OCTISCOPE_IS_DATASET_MODEL(self));
    view v;
    if (!split_view(entry, split, &v)) return;
    if (self->filtering) g_cancellable_cancel(self->filtering);
    g_clear_object(&self->filtering);
    self->total = v.n;
    replace(self, &v);
    g_signal_emit(self, signals[SIGNAL_FILTERED], 0);
}

OctiscopeDatasetEntry *octiscope_dataset_model_get_entry(OctiscopeDatasetModel *self) {
    return self->shown.entry;
}
int octiscope_dataset_model_get_split(OctiscopeDatasetModel *self) {
    return self->shown.split;
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

/* Whether the file name, casefolded, contains search (casefolded): ASCII
 * names are lowered in place of g_utf8_casefold (an allocation per item,
 * most of a search through 1.28 M names). */
static gboolean name_matches(const char *name, const char *search) {
    char low[256];
    size_t n = 0;
    for (const char *p = name; *p; p++) {
        if ((unsigned char)*p >= 0x80 || n + 1 >= sizeof low) {
            g_autofree char *folded = g_utf8_casefold(name, -1);
            return strstr(folded, search) != NULL;
        }
        low[n++] = g_ascii_tolower(*p);
    }
    low[n] = 0;
    return strstr(low, search) != NULL;
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
        if (job->search && !name_matches(base_name(it.image), job->search)) continue;
        job->indices[job->n++] = (guint32)i;
    }
    g_task_return_boolean(task, TRUE);
}

static void filter_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeDatasetModel *self = OCTISCOPE_DATASET_MODEL(source);
    if (g_task_get_cancellable(G_TASK(res)) != self->filtering) return; /* replaced */
    g_clear_object(&self->filtering);
    filter_job *job = g_task_get_task_data(G_TASK(res));
    view v = {g_object_ref(job->entry), job->split, job->indices, job->n};
    job->indices = NULL;
    replace(self, &v);
    g_signal_emit(self, signals[SIGNAL_FILTERED], 0);
}

void octiscope_dataset_model_set_filter(OctiscopeDatasetModel *self, int cls, const char *search) {
    g_return_if_fail(OCTISCOPE_IS_DATASET_MODEL(self));
    if (self->filtering) g_cancellable_cancel(self->filtering);
    g_clear_object(&self->filtering);
    if (cls < 0 && (!search || !*search)) {
        if (self->shown.indices) { /* every item again: no pass needed */
            view v;
            split_view(self->shown.entry, self->shown.split, &v);
            replace(self, &v);
        }
        g_signal_emit(self, signals[SIGNAL_FILTERED], 0);
        return;
    }
    self->filtering = g_cancellable_new();
    filter_job *job = g_new0(filter_job, 1);
    job->entry = g_object_ref(self->shown.entry);
    job->split = self->shown.split;
    job->cls = cls;
    job->search = search && *search ? g_utf8_casefold(search, -1) : NULL;
    GTask *task = g_task_new(self, self->filtering, filter_done, NULL);
    g_task_set_task_data(task, job, (GDestroyNotify)filter_job_free);
    g_task_run_in_thread(task, filter_thread);
    g_object_unref(task);
}
