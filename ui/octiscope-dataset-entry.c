/* One data set in the studio's library (see octiscope-dataset-entry.h). */
#include "octiscope-dataset-entry.h"

#include "background.h"
struct _OctiscopeDatasetEntry {
    GObject parent_instance;
    char *root, *title, *error, *summary;
    gboolean demo;
    OctiscopeDatasetState state;
    octic_dataset *ds;
};

G_DEFINE_TYPE(OctiscopeDatasetEntry, octiscope_dataset_entry, G_TYPE_OBJECT)

enum { PROP_0, PROP_ROOT, PROP_TITLE, PROP_STATE, PROP_SUMMARY, N_PROPS };
static GParamSpec *props[N_PROPS];

static const char *layout_title(octic_layout l) {
    switch (l) {
    case OCTIC_LAYOUT_IMAGENET:
        return "ImageNet";
    case OCTIC_LAYOUT_ADE20K:
        return "ADE20K";
    case OCTIC_LAYOUT_VOC:
        return "PASCAL VOC 2012";
    case OCTIC_LAYOUT_FOLDER:
        return "Class folders";
    case OCTIC_LAYOUT_FLAT:
        return "Images";
    }
    return "?";
}

static void get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
    OctiscopeDatasetEntry *self = OCTISCOPE_DATASET_ENTRY(object);
    switch (prop_id) {
    case PROP_ROOT:
        g_value_set_string(value, self->root);
        break;
    case PROP_TITLE:
        g_value_set_string(value, self->title);
        break;
    case PROP_STATE:
        g_value_set_int(value, self->state);
        break;
    case PROP_SUMMARY:
        g_value_set_string(value, self->summary);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void close_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    octiscope_background_lower_priority(); /* a pool thread of background work only */
    octic_dataset_close(data);
}

static void finalize(GObject *object) {
    OctiscopeDatasetEntry *self = OCTISCOPE_DATASET_ENTRY(object);
    g_free(self->root), g_free(self->title), g_free(self->error), g_free(self->summary);
    if (self->ds) {
        /* in a worker: freeing 1.28 M entries is tens of milliseconds, the
         * last reference often goes on the main loop (the browser's list) */
        GTask *task = g_task_new(NULL, NULL, NULL, NULL);
        g_task_set_task_data(task, self->ds, NULL);
        g_task_run_in_thread(task, close_thread);
        g_object_unref(task);
    }
    G_OBJECT_CLASS(octiscope_dataset_entry_parent_class)->finalize(object);
}

static void octiscope_dataset_entry_class_init(OctiscopeDatasetEntryClass *klass) {
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    object_class->get_property = get_property;
    object_class->finalize = finalize;
    GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
    props[PROP_ROOT] = g_param_spec_string("root", NULL, NULL, NULL, ro);
    props[PROP_TITLE] = g_param_spec_string("title", NULL, NULL, NULL, ro);
    props[PROP_STATE] = g_param_spec_int("state", NULL, NULL, 0, OCTISCOPE_DATASET_FAILED, 0, ro);
    props[PROP_SUMMARY] = g_param_spec_string("summary", NULL, NULL, NULL, ro);
    g_object_class_install_properties(object_class, N_PROPS, props);
}

static void octiscope_dataset_entry_init(OctiscopeDatasetEntry *self) {}

typedef struct {
    char *root;
    octic_dataset *ds;
    octic_status status;
    char *error;
} open_job;

static void open_job_free(open_job *job) {
    if (job->ds) octic_dataset_close(job->ds);
    g_free(job->root), g_free(job->error);
    g_free(job);
}

static void open_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    octiscope_background_lower_priority(); /* a pool thread of background work only */
    open_job *job = data;
    job->status = octic_dataset_open(job->root, NULL, &job->ds);
    if (job->status) job->ds = NULL, job->error = g_strdup(octic_last_error());
    g_task_return_boolean(task, TRUE);
}

static void open_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeDatasetEntry *self = OCTISCOPE_DATASET_ENTRY(source);
    open_job *job = g_task_get_task_data(G_TASK(res));
    g_free(self->summary);
    if (job->status) {
        self->state = OCTISCOPE_DATASET_FAILED;
        self->error = g_strdup(job->error);
        self->summary = g_strdup(job->error);
    } else {
        self->ds = job->ds;
        job->ds = NULL;
        self->state = OCTISCOPE_DATASET_READY;
        GString *s = g_string_new(layout_title(octic_dataset_layout(self->ds)));
        g_string_append(s, " · ");
        for (int i = 0; i < octic_dataset_split_count(self->ds); i++)
            g_string_append_printf(s, "%s%s %zu", i ? ", " : "", octic_dataset_split_name(self->ds, i),
                                   octic_dataset_item_count(self->ds, i));
        int nc = octic_dataset_class_count(self->ds);
        if (nc > 0) g_string_append_printf(s, " · %d classes", nc);
        if (octic_dataset_is_segmentation(self->ds)) g_string_append(s, " · label masks");
        size_t np = octic_dataset_problem_count(self->ds);
        if (np) g_string_append_printf(s, " · %zu files skipped", np);
        self->summary = g_string_free(s, FALSE);
    }
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SUMMARY]);
}

OctiscopeDatasetEntry *octiscope_dataset_entry_new(const char *root, gboolean demo) {
    g_return_val_if_fail(root != NULL, NULL);
    OctiscopeDatasetEntry *self = g_object_new(OCTISCOPE_TYPE_DATASET_ENTRY, NULL);
    self->root = g_strdup(root);
    g_autofree char *base = g_path_get_basename(root);
    self->title = demo ? g_strdup_printf("Demo: %s", base) : g_strdup(base);
    self->demo = demo;
    self->summary = g_strdup("Opening…");
    open_job *job = g_new0(open_job, 1);
    job->root = g_strdup(root);
    GTask *task = g_task_new(self, NULL, open_done, NULL);
    g_task_set_task_data(task, job, (GDestroyNotify)open_job_free);
    g_task_run_in_thread(task, open_thread);
    g_object_unref(task);
    return self;
}

const char *octiscope_dataset_entry_get_root(OctiscopeDatasetEntry *self) {
    return self->root;
}
gboolean octiscope_dataset_entry_get_demo(OctiscopeDatasetEntry *self) {
    return self->demo;
}
const char *octiscope_dataset_entry_get_title(OctiscopeDatasetEntry *self) {
    return self->title;
}
OctiscopeDatasetState octiscope_dataset_entry_get_state(OctiscopeDatasetEntry *self) {
    return self->state;
}
const char *octiscope_dataset_entry_get_error(OctiscopeDatasetEntry *self) {
    return self->error;
}
const char *octiscope_dataset_entry_get_summary(OctiscopeDatasetEntry *self) {
    return self->summary;
}
const octic_dataset *octiscope_dataset_entry_get_dataset(OctiscopeDatasetEntry *self) {
    return self->state == OCTISCOPE_DATASET_READY ? self->ds : NULL;
}
