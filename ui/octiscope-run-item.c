/* One run of the results database (see octiscope-run-item.h). */
#include "octiscope-run-item.h"

#include <math.h>
#include <string.h>

struct _OctiscopeRunItem {
    GObject parent_instance;
    gint64 id;
    char *protocol, *model, *kind, *dataset, *state, *metric, *started, *message, *checkpoint, *sha256;
    double value;
};

G_DEFINE_TYPE(OctiscopeRunItem, octiscope_run_item, G_TYPE_OBJECT)

enum { PROP_0, PROP_ID, PROP_PROTOCOL, PROP_MODEL, PROP_KIND, PROP_DATASET, PROP_STATE, PROP_VALUE, PROP_VALUE_LABEL,
       PROP_STARTED, N_PROPS };
static GParamSpec *props[N_PROPS];

const char *octiscope_kind_of_architecture(const char *a) {
    if (!a) return "standard";
    if (strstr(a, "hybrid")) return "hybrid";
    if (strstr(a, "_inv") || strstr(a, "invariant") || strstr(a, "inv_")) return "invariant";
    return "standard";
}

static void get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
    OctiscopeRunItem *self = OCTISCOPE_RUN_ITEM(object);
    switch (prop_id) {
    case PROP_ID:
        g_value_set_int64(value, self->id);
        break;
    case PROP_PROTOCOL:
        g_value_set_string(value, self->protocol);
        break;
    case PROP_MODEL:
        g_value_set_string(value, self->model);
        break;
    case PROP_KIND:
        g_value_set_string(value, self->kind);
        break;
    case PROP_DATASET:
        g_value_set_string(value, self->dataset);
        break;
    case PROP_STATE:
        g_value_set_string(value, self->state);
        break;
    case PROP_VALUE:
        g_value_set_double(value, isnan(self->value) ? -1.0 : self->value);
        break;
    case PROP_VALUE_LABEL:
        g_value_take_string(value, isnan(self->value) ? g_strdup("—") : g_strdup_printf("%s %.2f", self->metric, self->value));
        break;
    case PROP_STARTED:
        g_value_set_string(value, self->started);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void finalize(GObject *object) {
    OctiscopeRunItem *self = OCTISCOPE_RUN_ITEM(object);
    g_free(self->protocol), g_free(self->model), g_free(self->kind), g_free(self->dataset), g_free(self->state);
    g_free(self->metric), g_free(self->started), g_free(self->message), g_free(self->checkpoint), g_free(self->sha256);
    G_OBJECT_CLASS(octiscope_run_item_parent_class)->finalize(object);
}

static void octiscope_run_item_class_init(OctiscopeRunItemClass *klass) {
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    oc->get_property = get_property;
    oc->finalize = finalize;
    GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
    props[PROP_ID] = g_param_spec_int64("id", NULL, NULL, 0, G_MAXINT64, 0, ro);
    props[PROP_PROTOCOL] = g_param_spec_string("protocol", NULL, NULL, NULL, ro);
    props[PROP_MODEL] = g_param_spec_string("model", NULL, NULL, NULL, ro);
    props[PROP_KIND] = g_param_spec_string("kind", NULL, NULL, NULL, ro);
    props[PROP_DATASET] = g_param_spec_string("dataset", NULL, NULL, NULL, ro);
    props[PROP_STATE] = g_param_spec_string("state", NULL, NULL, NULL, ro);
    props[PROP_VALUE] = g_param_spec_double("value", NULL, NULL, -1, G_MAXDOUBLE, -1, ro);
    props[PROP_VALUE_LABEL] = g_param_spec_string("value-label", NULL, NULL, NULL, ro);
    props[PROP_STARTED] = g_param_spec_string("started", NULL, NULL, NULL, ro);
    g_object_class_install_properties(oc, N_PROPS, props);
}

static void octiscope_run_item_init(OctiscopeRunItem *self) {}

OctiscopeRunItem *octiscope_run_item_new(gint64 id, const char *protocol, const char *model, const char *kind,
                                         const char *dataset, const char *state, const char *metric, double value,
                                         const char *started, const char *message) {
    OctiscopeRunItem *self = g_object_new(OCTISCOPE_TYPE_RUN_ITEM, NULL);
    self->id = id;
    self->protocol = g_strdup(protocol);
    self->model = g_strdup(model);
    self->kind = g_strdup(kind);
    self->dataset = g_strdup(dataset);
    self->state = g_strdup(state);
    self->metric = g_strdup(metric);
    self->value = value;
    self->started = g_strdup(started);
    self->message = g_strdup(message);
    return self;
}

void octiscope_run_item_set_source(OctiscopeRunItem *self, const char *checkpoint, const char *sha256) {
    g_free(self->checkpoint), self->checkpoint = g_strdup(checkpoint);
    g_free(self->sha256), self->sha256 = g_strdup(sha256);
}

const char *octiscope_run_item_get_checkpoint(OctiscopeRunItem *self) { return self->checkpoint; }
const char *octiscope_run_item_get_sha256(OctiscopeRunItem *self) { return self->sha256; }
gint64 octiscope_run_item_get_id(OctiscopeRunItem *self) { return self->id; }
const char *octiscope_run_item_get_protocol(OctiscopeRunItem *self) { return self->protocol; }
const char *octiscope_run_item_get_model(OctiscopeRunItem *self) { return self->model; }
const char *octiscope_run_item_get_kind(OctiscopeRunItem *self) { return self->kind; }
const char *octiscope_run_item_get_dataset(OctiscopeRunItem *self) { return self->dataset; }
const char *octiscope_run_item_get_state(OctiscopeRunItem *self) { return self->state; }
const char *octiscope_run_item_get_metric(OctiscopeRunItem *self) { return self->metric; }
double octiscope_run_item_get_value(OctiscopeRunItem *self) { return self->value; }
const char *octiscope_run_item_get_started(OctiscopeRunItem *self) { return self->started; }
const char *octiscope_run_item_get_message(OctiscopeRunItem *self) { return self->message; }
