/* One run of the results database as the evaluations view lists it. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_RUN_ITEM (octiscope_run_item_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeRunItem, octiscope_run_item, OCTISCOPE, RUN_ITEM, GObject)

/* value: the protocol's headline metric (top1 or mIoU), NaN when the run has none. */
OctiscopeRunItem *octiscope_run_item_new(gint64 id, const char *protocol, const char *model, const char *kind,
                                         const char *dataset, const char *state, const char *metric, double value,
                                         const char *started, const char *message);
/* Where the model was read from and its content hash (for exports). */
void octiscope_run_item_set_source(OctiscopeRunItem *self, const char *checkpoint, const char *sha256);
const char *octiscope_run_item_get_checkpoint(OctiscopeRunItem *self);
const char *octiscope_run_item_get_sha256(OctiscopeRunItem *self);
gint64 octiscope_run_item_get_id(OctiscopeRunItem *self);
const char *octiscope_run_item_get_protocol(OctiscopeRunItem *self);
const char *octiscope_run_item_get_model(OctiscopeRunItem *self);
/* "hybrid", "invariant" or "standard" (from the architecture's name). */
const char *octiscope_run_item_get_kind(OctiscopeRunItem *self);
const char *octiscope_run_item_get_dataset(OctiscopeRunItem *self);
const char *octiscope_run_item_get_state(OctiscopeRunItem *self);
const char *octiscope_run_item_get_metric(OctiscopeRunItem *self);
double octiscope_run_item_get_value(OctiscopeRunItem *self);
const char *octiscope_run_item_get_started(OctiscopeRunItem *self);
const char *octiscope_run_item_get_message(OctiscopeRunItem *self);

/* The kind of a model from its recorded architecture ("hybrid_deit_large_patch16",
 * "d8_inv_early_deit_huge_patch14", "deit3 hybrid depth 4 ..."). */
const char *octiscope_kind_of_architecture(const char *architecture);

G_END_DECLS
