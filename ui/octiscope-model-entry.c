/* One checkpoint in the studio's library (see octiscope-model-entry.h). */
#include "octiscope-model-entry.h"

#include "background.h"
#include <string.h>

#include "checkpoint.h"
#include "studio-device.h"

struct _OctiscopeModelEntry {
    GObject parent_instance;
    char *path, *title, *error;
    int heads;
    gboolean demo;
    OctiscopeModelState state;
    octic_config config;
    octic_cost cost;
    guint probe_serial; /* a newer probe makes older results stale */

    GMutex lock;        /* guards model; held while a worker uses it */
    octic_model *model; /* loaded on first use */
    const octic_backend *model_device; /* the device it was loaded onto */
    int model_heads;                   /* and the heads it was loaded with */
    volatile gint drop;                /* free the weights when the worker using them is done */
};

G_DEFINE_TYPE(OctiscopeModelEntry, octiscope_model_entry, G_TYPE_OBJECT)
G_DEFINE_QUARK(octiscope-engine-error-quark, octiscope_engine_error)

enum {
    PROP_0,
    PROP_PATH,
    PROP_TITLE,
    PROP_STATE,
    PROP_ERROR,
    PROP_HEADS,
    PROP_DEMO,
    PROP_PARAMS,
    PROP_GFLOPS,
    PROP_FAMILY_LABEL,
    PROP_KIND_LABEL,
    PROP_PARAMS_LABEL,
    PROP_GFLOPS_LABEL,
    PROP_BREAK_LABEL,
    PROP_INVARIANT_LABEL,
    PROP_HEADS_LABEL,
    PROP_STATUS_LABEL,
    N_PROPS
};
static GParamSpec *props[N_PROPS];

static const char *family_label(octic_family f) {
    return f == OCTIC_FAMILY_DINOV2 ? "DINOv2" : "DeiT III";
}

static char *label_for(OctiscopeModelEntry *self, guint prop) {
    gboolean known = self->state == OCTISCOPE_MODEL_READY || self->state == OCTISCOPE_MODEL_NEEDS_HEADS;
    const octic_config *c = &self->config;
    if (!known) return g_strdup(prop == PROP_STATUS_LABEL && self->state == OCTISCOPE_MODEL_PROBING ? "Reading…" : "—");
    switch (prop) {
    case PROP_FAMILY_LABEL:
        return g_strdup(family_label(c->family));
    case PROP_KIND_LABEL:
        return g_strdup(octic_kind_name(c->kind));
    case PROP_PARAMS_LABEL:
        return self->state == OCTISCOPE_MODEL_READY ? g_strdup_printf("%.2f M", self->cost.params / 1e6) : g_strdup("—");
    case PROP_GFLOPS_LABEL:
        return self->state == OCTISCOPE_MODEL_READY ? g_strdup_printf("%.2f", self->cost.macs / 1e9) : g_strdup("—");
    case PROP_BREAK_LABEL:
        return c->kind == OCTIC_KIND_STANDARD ? g_strdup("—") : g_strdup_printf("%d of %d", c->break_layer, c->depth);
    case PROP_INVARIANT_LABEL:
        return c->kind == OCTIC_KIND_INVARIANT ? g_strdelimit(g_strdup(octic_invariant_name(c->invariant)), "_", ' ')
                                               : g_strdup("—");
    case PROP_HEADS_LABEL:
        return c->heads > 0 ? g_strdup_printf("%d", c->heads) : g_strdup("?");
    case PROP_STATUS_LABEL:
        return g_strdup(self->state == OCTISCOPE_MODEL_READY ? (self->demo ? "demo, untrained" : "ready")
                                                             : "needs the number of heads");
    }
    return g_strdup("");
}

static void octiscope_model_entry_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
    OctiscopeModelEntry *self = OCTISCOPE_MODEL_ENTRY(object);
    switch (prop_id) {
    case PROP_PATH:
        g_value_set_string(value, self->path);
        break;
    case PROP_TITLE:
        g_value_set_string(value, self->title);
        break;
    case PROP_STATE:
        g_value_set_int(value, self->state);
        break;
    case PROP_ERROR:
        g_value_set_string(value, self->error);
        break;
    case PROP_HEADS:
        g_value_set_int(value, self->heads);
        break;
    case PROP_DEMO:
        g_value_set_boolean(value, self->demo);
        break;
    case PROP_PARAMS:
        g_value_set_int64(value, self->state == OCTISCOPE_MODEL_READY ? self->cost.params : 0);
        break;
    case PROP_GFLOPS:
        g_value_set_double(value, octiscope_model_entry_get_gflops(self));
        break;
    case PROP_FAMILY_LABEL ... PROP_STATUS_LABEL:
        if (prop_id == PROP_STATUS_LABEL && self->state == OCTISCOPE_MODEL_FAILED)
            g_value_set_string(value, self->error);
        else
            g_value_take_string(value, label_for(self, prop_id));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void octiscope_model_entry_finalize(GObject *object) {
    OctiscopeModelEntry *self = OCTISCOPE_MODEL_ENTRY(object);
    g_free(self->path), g_free(self->title), g_free(self->error);
    if (self->model) octic_model_free(self->model);
    g_mutex_clear(&self->lock);
    G_OBJECT_CLASS(octiscope_model_entry_parent_class)->finalize(object);
}

static void octiscope_model_entry_class_init(OctiscopeModelEntryClass *klass) {
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    object_class->get_property = octiscope_model_entry_get_property;
    object_class->finalize = octiscope_model_entry_finalize;
    GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
    props[PROP_PATH] = g_param_spec_string("path", NULL, NULL, NULL, ro);
    props[PROP_TITLE] = g_param_spec_string("title", NULL, NULL, NULL, ro);
    props[PROP_STATE] = g_param_spec_int("state", NULL, NULL, 0, OCTISCOPE_MODEL_FAILED, 0, ro);
    props[PROP_ERROR] = g_param_spec_string("error", NULL, NULL, NULL, ro);
    props[PROP_HEADS] = g_param_spec_int("heads", NULL, NULL, 0, G_MAXINT, 0, ro);
    props[PROP_DEMO] = g_param_spec_boolean("demo", NULL, NULL, FALSE, ro);
    props[PROP_PARAMS] = g_param_spec_int64("params", NULL, NULL, 0, G_MAXINT64, 0, ro);
    props[PROP_GFLOPS] = g_param_spec_double("gflops", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
    props[PROP_FAMILY_LABEL] = g_param_spec_string("family-label", NULL, NULL, NULL, ro);
    props[PROP_KIND_LABEL] = g_param_spec_string("kind-label", NULL, NULL, NULL, ro);
    props[PROP_PARAMS_LABEL] = g_param_spec_string("params-label", NULL, NULL, NULL, ro);
    props[PROP_GFLOPS_LABEL] = g_param_spec_string("gflops-label", NULL, NULL, NULL, ro);
    props[PROP_BREAK_LABEL] = g_param_spec_string("break-label", NULL, NULL, NULL, ro);
    props[PROP_INVARIANT_LABEL] = g_param_spec_string("invariant-label", NULL, NULL, NULL, ro);
    props[PROP_HEADS_LABEL] = g_param_spec_string("heads-label", NULL, NULL, NULL, ro);
    props[PROP_STATUS_LABEL] = g_param_spec_string("status-label", NULL, NULL, NULL, ro);
    g_object_class_install_properties(object_class, N_PROPS, props);
}

static void octiscope_model_entry_init(OctiscopeModelEntry *self) {
    g_mutex_init(&self->lock);
}

OctiscopeModelEntry *octiscope_model_entry_new(const char *path, int heads, gboolean demo) {
    g_return_val_if_fail(path != NULL, NULL);
    OctiscopeModelEntry *self = g_object_new(OCTISCOPE_TYPE_MODEL_ENTRY, NULL);
    self->path = g_strdup(path);
    self->title = g_path_get_basename(path);
    self->heads = heads > 0 ? heads : 0;
    self->demo = demo;
    self->state = OCTISCOPE_MODEL_PROBING;
    return self;
}

const char *octiscope_model_entry_get_path(OctiscopeModelEntry *self) {
    return self->path;
}
const char *octiscope_model_entry_get_title(OctiscopeModelEntry *self) {
    return self->title;
}
OctiscopeModelState octiscope_model_entry_get_state(OctiscopeModelEntry *self) {
    return self->state;
}
const char *octiscope_model_entry_get_error(OctiscopeModelEntry *self) {
    return self->error;
}
int octiscope_model_entry_get_heads(OctiscopeModelEntry *self) {
    return self->heads;
}
gboolean octiscope_model_entry_get_demo(OctiscopeModelEntry *self) {
    return self->demo;
}
const octic_config *octiscope_model_entry_get_config(OctiscopeModelEntry *self) {
    return &self->config;
}
gint64 octiscope_model_entry_get_params(OctiscopeModelEntry *self) {
    return self->state == OCTISCOPE_MODEL_READY ? self->cost.params : 0;
}
double octiscope_model_entry_get_gflops(OctiscopeModelEntry *self) {
    return self->state == OCTISCOPE_MODEL_READY ? self->cost.macs / 1e9 : 0.0;
}

/* ---- probing ------------------------------------------------------------------- */

typedef struct {
    int heads;
    guint serial;
    char *path;
    /* results */
    octic_status status;
    char *error, *title;
    octic_config config;
    octic_cost cost;
    gboolean heads_dropped; /* the heads given contradicted the file's: its own taken */
} probe_job;

static void probe_job_free(probe_job *job) {
    g_free(job->path), g_free(job->error), g_free(job->title);
    g_free(job);
}

static void probe_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    octiscope_background_lower_priority(); /* a pool thread of background work only */
    probe_job *job = data;
    octic_tensor_set set;
    memset(&job->config, 0, sizeof job->config);
    job->status = octic_checkpoint_load(job->path, &set);
    if (job->status == OCTIC_OK) {
        job->status = octic_config_infer(&set, job->heads, &job->config);
        /* a number of heads remembered for a file that stores another (set
         * before files' own heads were believed): the file's */
        if (job->status && job->heads > 0 && job->config.stored_heads > 0 && job->heads != job->config.stored_heads) {
            memset(&job->config, 0, sizeof job->config);
            job->status = octic_config_infer(&set, 0, &job->config);
            job->heads_dropped = TRUE;
        }
        const char *t = octic_tensor_set_get_meta(&set, "title");
        if (t && *t) job->title = g_strdup(t);
        octic_tensor_set_free(&set);
    }
    if (job->status == OCTIC_OK)
        job->cost = octic_config_cost(&job->config, 224);
    else
        job->error = g_strdup(octic_last_error());
    g_task_return_boolean(task, TRUE);
}

static void probe_done(GObject *source, GAsyncResult *result, gpointer user_data) {
    OctiscopeModelEntry *self = OCTISCOPE_MODEL_ENTRY(source);
    probe_job *job = g_task_get_task_data(G_TASK(result));
    if (job->serial != self->probe_serial) return; /* a newer probe is running */
    g_clear_pointer(&self->error, g_free);
    self->config = job->config;
    self->cost = job->cost;
    if (job->title) g_free(self->title), self->title = g_strdup(job->title);
    if (job->heads_dropped) {
        g_atomic_int_set(&self->heads, 0);
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_HEADS]);
    }
    if (job->status == OCTIC_OK) {
        self->state = OCTISCOPE_MODEL_READY;
    } else if (job->status == OCTIC_ERR_MISSING && job->config.heads == 0 && job->config.dim > 0) {
        self->state = OCTISCOPE_MODEL_NEEDS_HEADS;
        self->error = g_strdup_printf("%s: the number of attention heads is not stored in this checkpoint and its "
                                      "shape is not a published architecture",
                                      self->path);
    } else {
        self->state = OCTISCOPE_MODEL_FAILED;
        self->error = g_strdup(job->error);
    }
    for (int p = PROP_TITLE; p < N_PROPS; p++) g_object_notify_by_pspec(G_OBJECT(self), props[p]);
}

void octiscope_model_entry_probe_async(OctiscopeModelEntry *self) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_ENTRY(self));
    probe_job *job = g_new0(probe_job, 1);
    job->heads = self->heads;
    job->serial = ++self->probe_serial;
    job->path = g_strdup(self->path);
    if (self->state != OCTISCOPE_MODEL_PROBING) {
        self->state = OCTISCOPE_MODEL_PROBING;
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATUS_LABEL]);
    }
    GTask *task = g_task_new(self, NULL, probe_done, NULL);
    g_task_set_task_data(task, job, (GDestroyNotify)probe_job_free);
    g_task_run_in_thread(task, probe_thread);
    g_object_unref(task);
}

void octiscope_model_entry_set_heads(OctiscopeModelEntry *self, int heads) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_ENTRY(self));
    g_return_if_fail(heads > 0);
    /* no wait for a worker that holds the model (an analysis takes seconds):
     * the next lock_model reloads it with these heads */
    g_atomic_int_set(&self->heads, heads);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_HEADS]);
    octiscope_model_entry_probe_async(self);
}

/* ---- the weights ------------------------------------------------------------------- */

octic_model *octiscope_model_entry_lock_model(OctiscopeModelEntry *self, GError **error) {
    g_mutex_lock(&self->lock);
    const octic_backend *device = octiscope_device_current();
    int heads = g_atomic_int_get(&self->heads);
    /* the device preference or the heads changed since */
    if (self->model && (self->model_device != device || self->model_heads != heads))
        g_clear_pointer(&self->model, octic_model_free);
    if (!self->model) {
        self->model_device = device;
        self->model_heads = heads;
        octic_status st = octic_model_load_on(self->path, heads, device, &self->model);
        if (st) {
            self->model = NULL;
            g_set_error(error, OCTISCOPE_ENGINE_ERROR, st, "%s", octic_last_error());
            g_mutex_unlock(&self->lock);
            return NULL;
        }
    }
    return self->model;
}

/* The weights asked to go (drop) are freed by whoever next holds the lock
 * with nobody using them: drop_weights when it can take it at once, or the
 * worker letting go. drop is set before either looks, so one of them sees it. */
static void free_dropped(OctiscopeModelEntry *self) {
    if (g_atomic_int_get(&self->drop) && g_mutex_trylock(&self->lock)) {
        if (g_atomic_int_compare_and_exchange(&self->drop, 1, 0)) g_clear_pointer(&self->model, octic_model_free);
        g_mutex_unlock(&self->lock);
    }
}

void octiscope_model_entry_unlock_model(OctiscopeModelEntry *self) {
    g_mutex_unlock(&self->lock);
    free_dropped(self);
}

gboolean octiscope_model_entry_has_weights(OctiscopeModelEntry *self) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_ENTRY(self), FALSE);
    g_mutex_lock(&self->lock);
    gboolean loaded = self->model != NULL;
    g_mutex_unlock(&self->lock);
    return loaded;
}

void octiscope_model_entry_drop_weights(OctiscopeModelEntry *self) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_ENTRY(self));
    g_atomic_int_set(&self->drop, 1);
    free_dropped(self); /* or, when a worker has them, as it lets go */
}
