/* The studio's list model of models (ui/octiscope-model-store.c) without a
 * display: demo models on the first start only, what is inferred about each
 * checkpoint, persistence in GSettings (memory backend), removal, failures
 * and checkpoints that need the number of heads. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "octiscope-dataset-model.h"
#include "octiscope-dataset-store.h"
#include "octiscope-model-store.h"

static GSettings *settings;
static char *demo_dir;

static void setup(void) {
    settings = g_settings_new("org.octiscope.Octiscope");
    g_settings_reset(settings, "models");
    g_settings_reset(settings, "demo-added");
    demo_dir = g_strdup(g_getenv("OCTISCOPE_DEMO_MODELS"));
    ck_assert_msg(demo_dir != NULL, "OCTISCOPE_DEMO_MODELS is not set");
}

static void teardown(void) {
    g_clear_object(&settings);
    g_clear_pointer(&demo_dir, g_free);
}

static gboolean probed(GListModel *store) {
    for (guint i = 0; i < g_list_model_get_n_items(store); i++) {
        g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(store, i);
        if (octiscope_model_entry_get_state(e) == OCTISCOPE_MODEL_PROBING) return FALSE;
    }
    return TRUE;
}

static void wait_probed(OctiscopeModelStore *store) {
    gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (!probed(G_LIST_MODEL(store)) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, FALSE);
    ck_assert_msg(probed(G_LIST_MODEL(store)), "models still being read after 60 s");
}

static guint changes;
static void on_items_changed(GListModel *list, guint pos, guint removed, guint added, gpointer data) {
    changes += added + removed;
}

START_TEST(demo_models_on_first_start) {
    OctiscopeModelStore *store = octiscope_model_store_new(settings, demo_dir);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 3);
    ck_assert(g_list_model_get_item_type(G_LIST_MODEL(store)) == OCTISCOPE_TYPE_MODEL_ENTRY);
    wait_probed(store);
    const octic_kind kinds[3] = {OCTIC_KIND_HYBRID, OCTIC_KIND_INVARIANT, OCTIC_KIND_STANDARD};
    for (guint i = 0; i < 3; i++) {
        g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(G_LIST_MODEL(store), i);
        ck_assert_int_eq(octiscope_model_entry_get_state(e), OCTISCOPE_MODEL_READY);
        ck_assert(octiscope_model_entry_get_demo(e));
        const octic_config *c = octiscope_model_entry_get_config(e);
        ck_assert_int_eq(c->kind, kinds[i]);
        ck_assert_int_eq(c->heads, 2);
        ck_assert_int_eq(c->depth, 4);
        ck_assert_int_eq(c->break_layer, kinds[i] == OCTIC_KIND_STANDARD ? 0 : 2);
        // the figures shown are the engine's cost model at 224 x 224
        octic_cost cost = octic_config_cost(c, 224);
        ck_assert(octiscope_model_entry_get_params(e) == cost.params);
        ck_assert(octiscope_model_entry_get_gflops(e) == cost.macs / 1e9);
        ck_assert_msg(g_str_has_suffix(octiscope_model_entry_get_title(e), "(untrained, random weights)"), "%s",
                      octiscope_model_entry_get_title(e));
        g_autofree char *kind = NULL, *status = NULL;
        g_object_get(e, "kind-label", &kind, "status-label", &status, NULL);
        ck_assert_str_eq(kind, octic_kind_name(kinds[i]));
        ck_assert_str_eq(status, "demo, untrained");
    }
    ck_assert(g_settings_get_boolean(settings, "demo-added"));
    ck_assert(octiscope_model_store_find_kind(store, OCTIC_KIND_INVARIANT) != NULL);
    g_object_unref(store);
}
END_TEST

START_TEST(remembered_and_removed) {
    OctiscopeModelStore *store = octiscope_model_store_new(settings, demo_dir);
    wait_probed(store);
    changes = 0;
    g_signal_connect(store, "items-changed", G_CALLBACK(on_items_changed), NULL);
    octiscope_model_store_remove(store, 0); /* the hybrid demo */
    ck_assert_int_eq(changes, 1);
    g_autofree char *golden = g_build_filename(g_getenv("OCTIC_GOLDEN_DIR"), "deit_hybrid_p16", "model.pth", NULL);
    OctiscopeModelEntry *e = octiscope_model_store_add(store, golden, 2);
    ck_assert_int_eq(changes, 2);
    ck_assert(octiscope_model_store_add(store, golden, 2) == e); /* no duplicates */
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 3);
    wait_probed(store);
    ck_assert_int_eq(octiscope_model_entry_get_state(e), OCTISCOPE_MODEL_READY);
    ck_assert_int_eq(octiscope_model_entry_get_config(e)->kind, OCTIC_KIND_HYBRID);
    g_object_unref(store);

    // a second start: the same list (the removed demo stays removed), in order
    store = octiscope_model_store_new(settings, demo_dir);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 3);
    g_autoptr(OctiscopeModelEntry) last = g_list_model_get_item(G_LIST_MODEL(store), 2);
    ck_assert_str_eq(octiscope_model_entry_get_path(last), golden);
    ck_assert_int_eq(octiscope_model_entry_get_heads(last), 2);
    guint pos;
    g_autofree char *hybrid = g_build_filename(demo_dir, octiscope_demo_model_files[0], NULL);
    ck_assert(octiscope_model_store_find(store, hybrid, &pos) == NULL);
    wait_probed(store);
    g_object_unref(store);
}
END_TEST

/* A worker thread holding a model's weights until told to let go. */
typedef struct {
    OctiscopeModelEntry *entry;
    volatile gint held, release;
} worker;

static gpointer hold_weights(gpointer data) {
    worker *w = data;
    g_autoptr(GError) error = NULL;
    octic_model *m = octiscope_model_entry_lock_model(w->entry, &error);
    g_atomic_int_set(&w->held, 1);
    while (!g_atomic_int_get(&w->release)) g_usleep(1000);
    if (m) octiscope_model_entry_unlock_model(w->entry);
    return NULL;
}

/* Undo of a removal: the same entry in its place, kept without its weights;
 * only the latest removals can be undone, and not once the path is back. */
START_TEST(removed_and_restored) {
    OctiscopeModelStore *store = octiscope_model_store_new(settings, demo_dir);
    wait_probed(store);
    g_autoptr(OctiscopeModelEntry) invariant = g_list_model_get_item(G_LIST_MODEL(store), 1);
    g_autofree char *path = g_strdup(octiscope_model_entry_get_path(invariant));
    g_autoptr(GError) error = NULL;
    ck_assert(octiscope_model_entry_lock_model(invariant, &error) != NULL); /* its weights loaded */
    octiscope_model_entry_unlock_model(invariant);
    ck_assert(octiscope_model_entry_has_weights(invariant));
    octiscope_model_store_remove(store, 1);
    ck_assert(octiscope_model_store_find(store, path, NULL) == NULL);
    ck_assert(!octiscope_model_entry_has_weights(invariant)); /* kept for an undo, without them */
    ck_assert(octiscope_model_store_restore(store, "/no/such/model.pth") == NULL);
    ck_assert(octiscope_model_store_restore(store, path) == invariant);
    guint pos = 99;
    ck_assert(octiscope_model_store_find(store, path, &pos) == invariant);
    ck_assert_int_eq(pos, 1);
    ck_assert(octiscope_model_entry_get_demo(invariant));
    ck_assert_int_eq(octiscope_model_entry_get_state(invariant), OCTISCOPE_MODEL_READY);
    ck_assert(octiscope_model_store_restore(store, path) == NULL); /* listed: nothing to undo */
    // and the list in the settings has it in its place again
    g_autoptr(GVariant) saved = g_settings_get_value(settings, "models");
    const char *second;
    g_variant_get_child(saved, 1, "(&si)", &second, NULL);
    ck_assert_str_eq(second, path);

    // the weights of a removed model are let go as the worker using them unlocks
    worker w = {invariant, 0, 0};
    GThread *t = g_thread_new("worker", hold_weights, &w);
    while (!g_atomic_int_get(&w.held)) g_usleep(1000);
    octiscope_model_store_remove(store, 1); /* while the worker holds them: no wait */
    g_atomic_int_set(&w.release, 1);
    g_thread_join(t);
    ck_assert(!octiscope_model_entry_has_weights(invariant));
    ck_assert(octiscope_model_store_restore(store, path) == invariant);
    ck_assert(octiscope_model_entry_lock_model(invariant, &error) != NULL); /* loaded again */
    octiscope_model_entry_unlock_model(invariant);
    ck_assert(octiscope_model_entry_has_weights(invariant));

    // two removals undone in either order: the list as it was
    const char *order[3];
    for (int i = 0; i < 3; i++) {
        g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(G_LIST_MODEL(store), i);
        order[i] = g_intern_string(octiscope_model_entry_get_path(e));
    }
    octiscope_model_store_remove(store, 0);
    octiscope_model_store_remove(store, 1); /* the third */
    ck_assert(octiscope_model_store_restore(store, order[0]) != NULL);
    ck_assert(octiscope_model_store_restore(store, order[2]) != NULL);
    for (int i = 0; i < 3; i++) {
        g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(G_LIST_MODEL(store), i);
        ck_assert_str_eq(octiscope_model_entry_get_path(e), order[i]);
    }

    // five removals: the oldest can no longer be undone, the latest can
    g_autofree char *golden = g_build_filename(g_getenv("OCTIC_GOLDEN_DIR"), "deit_hybrid_p16", "model.pth", NULL);
    octiscope_model_store_add(store, golden, 2);
    octiscope_model_store_add(store, "/no/such/model.pth", 0);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 5);
    g_autofree char *oldest = NULL;
    while (g_list_model_get_n_items(G_LIST_MODEL(store)) > 0) {
        g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(G_LIST_MODEL(store), 0);
        if (!oldest) oldest = g_strdup(octiscope_model_entry_get_path(e));
        octiscope_model_store_remove(store, 0);
    }
    ck_assert(octiscope_model_store_restore(store, oldest) == NULL);
    ck_assert(octiscope_model_store_restore(store, golden) != NULL);
    ck_assert(octiscope_model_store_restore(store, path) != NULL);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 2);
    wait_probed(store);
    g_object_unref(store);
}
END_TEST

/* A number of heads remembered for a file that stores another (an earlier
 * version let it override the file's): the file's is taken, and remembered. */
START_TEST(remembered_heads_against_the_file) {
    g_autofree char *hybrid = g_build_filename(demo_dir, octiscope_demo_model_files[0], NULL);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(si)"));
    g_variant_builder_add(&b, "(si)", hybrid, 4);
    g_settings_set_value(settings, "models", g_variant_builder_end(&b));
    g_settings_set_boolean(settings, "demo-added", TRUE);
    OctiscopeModelStore *store = octiscope_model_store_new(settings, demo_dir);
    wait_probed(store);
    g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(G_LIST_MODEL(store), 0);
    ck_assert_msg(octiscope_model_entry_get_state(e) == OCTISCOPE_MODEL_READY, "%s",
                  octiscope_model_entry_get_error(e) ? octiscope_model_entry_get_error(e) : "");
    ck_assert_int_eq(octiscope_model_entry_get_config(e)->heads, 2);
    ck_assert_int_eq(octiscope_model_entry_get_heads(e), 0);
    g_autoptr(GVariant) saved = g_settings_get_value(settings, "models");
    int heads = -1;
    g_variant_get_child(saved, 0, "(&si)", NULL, &heads);
    ck_assert_int_eq(heads, 0);
    g_object_unref(store);
}
END_TEST

START_TEST(failures_and_heads) {
    OctiscopeModelStore *store = octiscope_model_store_new(settings, NULL);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 0); /* no demo folder */
    // not a checkpoint: FAILED with a message naming the file
    g_autofree char *bad = g_build_filename(g_get_tmp_dir(), "octiscope-store-bad.safetensors", NULL);
    g_file_set_contents(bad, "this is not a checkpoint", -1, NULL);
    OctiscopeModelEntry *b = octiscope_model_store_add(store, bad, 0);
    // a .pth of an unpublished shape without heads: NEEDS_HEADS, then READY once given
    g_autofree char *golden = g_build_filename(g_getenv("OCTIC_GOLDEN_DIR"), "deit_invariant_p16", "model.pth", NULL);
    OctiscopeModelEntry *h = octiscope_model_store_add(store, golden, 0);
    OctiscopeModelEntry *missing = octiscope_model_store_add(store, "/nonexistent/model.pth", 0);
    wait_probed(store);
    ck_assert_int_eq(octiscope_model_entry_get_state(b), OCTISCOPE_MODEL_FAILED);
    ck_assert_msg(strstr(octiscope_model_entry_get_error(b), bad) != NULL, "%s", octiscope_model_entry_get_error(b));
    ck_assert_int_eq(octiscope_model_entry_get_state(missing), OCTISCOPE_MODEL_FAILED);
    ck_assert_msg(strstr(octiscope_model_entry_get_error(missing), "/nonexistent/model.pth") != NULL, "%s",
                  octiscope_model_entry_get_error(missing));
    ck_assert_int_eq(octiscope_model_entry_get_state(h), OCTISCOPE_MODEL_NEEDS_HEADS);
    ck_assert_int_eq(octiscope_model_entry_get_config(h)->kind, OCTIC_KIND_INVARIANT);
    octiscope_model_entry_set_heads(h, 2);
    wait_probed(store);
    ck_assert_int_eq(octiscope_model_entry_get_state(h), OCTISCOPE_MODEL_READY);
    ck_assert(octiscope_model_entry_get_error(h) == NULL);
    // the heads are remembered
    g_autoptr(GVariant) saved = g_settings_get_value(settings, "models");
    int heads = -1;
    const char *path;
    GVariantIter it;
    g_variant_iter_init(&it, saved);
    while (g_variant_iter_next(&it, "(&si)", &path, &heads))
        if (g_strcmp0(path, golden) == 0) break;
    ck_assert_int_eq(heads, 2);
    // the model loads for a worker, and a failed one reports why
    GError *error = NULL;
    octic_model *m = octiscope_model_entry_lock_model(h, &error);
    ck_assert_msg(m != NULL, "%s", error ? error->message : "");
    ck_assert_int_eq(octic_model_config(m)->heads, 2);
    // new heads while a worker holds the model: no wait for it (this thread
    // holds it: a wait would never end), and the next worker gets a model
    // loaded with them
    octiscope_model_entry_set_heads(h, 4);
    octiscope_model_entry_unlock_model(h);
    m = octiscope_model_entry_lock_model(h, &error);
    ck_assert_msg(m != NULL, "%s", error ? error->message : "");
    ck_assert_int_eq(octic_model_config(m)->heads, 4);
    octiscope_model_entry_unlock_model(h);
    wait_probed(store);
    ck_assert(octiscope_model_entry_lock_model(b, &error) == NULL);
    ck_assert(error != NULL && error->domain == OCTISCOPE_ENGINE_ERROR);
    g_clear_error(&error);
    g_remove(bad);
    g_object_unref(store);
}
END_TEST

static gboolean datasets_open(GListModel *list) {
    for (guint i = 0; i < g_list_model_get_n_items(list); i++) {
        g_autoptr(OctiscopeDatasetEntry) e = g_list_model_get_item(list, i);
        if (octiscope_dataset_entry_get_state(e) == OCTISCOPE_DATASET_OPENING) return FALSE;
    }
    return TRUE;
}

/* During a replacement the new list is in front of the old one. */
static guint replacing_new, replacing_old, replacings;
static void on_replacing(OctiscopeDatasetModel *m, gpointer data) {
    const char **first = data; /* the new list's first image, the old one's */
    ck_assert_uint_eq(g_list_model_get_n_items(G_LIST_MODEL(m)), replacing_new + replacing_old);
    g_autoptr(OctiscopeDatasetItem) a = g_list_model_get_item(G_LIST_MODEL(m), 0);
    g_autoptr(OctiscopeDatasetItem) b = g_list_model_get_item(G_LIST_MODEL(m), replacing_new);
    ck_assert_str_eq(octiscope_dataset_item_get_image(a), first[0]);
    ck_assert_str_eq(octiscope_dataset_item_get_image(b), first[1]);
    replacings++;
}

static void wait_filtered(OctiscopeDatasetModel *m) {
    gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (octiscope_dataset_model_is_filtering(m) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, FALSE);
    ck_assert(!octiscope_dataset_model_is_filtering(m));
}

START_TEST(datasets_and_items) {
    const char *data = g_getenv("OCTISCOPE_DEMO_DATA");
    ck_assert(data != NULL);
    g_settings_reset(settings, "datasets");
    g_settings_reset(settings, "demo-datasets-added");
    OctiscopeDatasetStore *store = octiscope_dataset_store_new(settings, data);
    GListModel *list = G_LIST_MODEL(store);
    ck_assert_int_eq(g_list_model_get_n_items(list), 2); /* imagenet, voc */
    g_autofree char *bad = g_build_filename(g_get_tmp_dir(), "octiscope-no-such-dataset", NULL);
    OctiscopeDatasetEntry *missing = octiscope_dataset_store_add(store, bad);
    gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (!datasets_open(list) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, FALSE);
    ck_assert(datasets_open(list));
    ck_assert_int_eq(octiscope_dataset_entry_get_state(missing), OCTISCOPE_DATASET_FAILED);
    ck_assert_msg(strstr(octiscope_dataset_entry_get_error(missing), bad) != NULL, "%s",
                  octiscope_dataset_entry_get_error(missing));
    g_autoptr(OctiscopeDatasetEntry) imagenet = g_list_model_get_item(list, 0);
    g_autoptr(OctiscopeDatasetEntry) voc = g_list_model_get_item(list, 1);
    ck_assert_int_eq(octiscope_dataset_entry_get_state(imagenet), OCTISCOPE_DATASET_READY);
    ck_assert_str_eq(octiscope_dataset_entry_get_summary(imagenet), "ImageNet · train 4, val 3, test 3 · 3 classes");
    ck_assert_int_eq(octiscope_dataset_entry_get_state(voc), OCTISCOPE_DATASET_READY);
    ck_assert_msg(strstr(octiscope_dataset_entry_get_summary(voc), "label masks") != NULL, "%s",
                  octiscope_dataset_entry_get_summary(voc));

    // the items of ImageNet's train split, filtered by class and by name
    const octic_dataset *ds = octiscope_dataset_entry_get_dataset(imagenet);
    int train = octic_dataset_find_split(ds, "train");
    OctiscopeDatasetModel *items = octiscope_dataset_model_new(imagenet, train);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(items)), 4);
    int per_class[3] = {0};
    for (guint i = 0; i < 4; i++) {
        g_autoptr(OctiscopeDatasetItem) it = g_list_model_get_item(G_LIST_MODEL(items), i);
        ck_assert(g_str_has_suffix(octiscope_dataset_item_get_image(it), octiscope_dataset_item_get_name(it)));
        ck_assert(octiscope_dataset_item_get_mask(it) == NULL);
        per_class[octiscope_dataset_item_get_label(it)]++;
    }
    ck_assert(g_list_model_get_item(G_LIST_MODEL(items), 4) == NULL);
    changes = 0;
    g_signal_connect(items, "items-changed", G_CALLBACK(on_items_changed), NULL);
    for (int c = 0; c < 3; c++) {
        octiscope_dataset_model_set_filter(items, c, NULL);
        wait_filtered(items);
        ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(items)), per_class[c]);
        for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(items)); i++) {
            g_autoptr(OctiscopeDatasetItem) it = g_list_model_get_item(G_LIST_MODEL(items), i);
            ck_assert_int_eq(octiscope_dataset_item_get_label(it), c);
        }
    }
    ck_assert(changes > 0);
    octiscope_dataset_model_set_filter(items, -1, "_2.jpeg"); /* case-insensitive */
    wait_filtered(items);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(items)), 1);
    octiscope_dataset_model_set_filter(items, -1, "no such name");
    wait_filtered(items);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(items)), 0);
    ck_assert_int_eq(octiscope_dataset_model_get_total(items), 4);

    // another split in the same list: the new items come in front of the old ones, then the old ones go
    octiscope_dataset_model_set_filter(items, -1, NULL); /* every item again, at once */
    ck_assert(!octiscope_dataset_model_is_filtering(items));
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(items)), 4);
    int val = octic_dataset_find_split(ds, "val");
    octic_dataset_item val0, train0;
    ck_assert(octic_dataset_get_item(ds, val, 0, &val0) == OCTIC_OK);
    ck_assert(octic_dataset_get_item(ds, train, 0, &train0) == OCTIC_OK);
    const char *firsts[2] = {val0.image, train0.image};
    replacing_new = (guint)octic_dataset_item_count(ds, val), replacing_old = 4, replacings = 0;
    g_signal_connect(items, "replacing", G_CALLBACK(on_replacing), firsts);
    octiscope_dataset_model_set_split(items, imagenet, val);
    ck_assert_uint_eq(replacings, 1);
    ck_assert_uint_eq(g_list_model_get_n_items(G_LIST_MODEL(items)), replacing_new);
    ck_assert_uint_eq(octiscope_dataset_model_get_total(items), replacing_new);
    ck_assert_int_eq(octiscope_dataset_model_get_split(items), val);
    ck_assert(g_list_model_get_item(G_LIST_MODEL(items), replacing_new) == NULL);
    g_autoptr(OctiscopeDatasetItem) v0 = g_list_model_get_item(G_LIST_MODEL(items), 0);
    ck_assert_str_eq(octiscope_dataset_item_get_image(v0), val0.image);
    g_object_unref(items);

    // VOC items carry their masks
    const octic_dataset *vds = octiscope_dataset_entry_get_dataset(voc);
    OctiscopeDatasetModel *vitems = octiscope_dataset_model_new(voc, octic_dataset_find_split(vds, "val"));
    ck_assert(g_list_model_get_n_items(G_LIST_MODEL(vitems)) > 0);
    g_autoptr(OctiscopeDatasetItem) first = g_list_model_get_item(G_LIST_MODEL(vitems), 0);
    ck_assert(octiscope_dataset_item_get_mask(first) != NULL);
    g_object_unref(vitems);

    // remembered: a new store lists the same three folders, the demos not added twice
    g_object_unref(store);
    store = octiscope_dataset_store_new(settings, data);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 3);
    guint pos;
    ck_assert(octiscope_dataset_store_find(store, bad, &pos) != NULL);
    octiscope_dataset_store_remove(store, pos);
    g_object_unref(store);
    store = octiscope_dataset_store_new(settings, data);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 2);
    end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (!datasets_open(G_LIST_MODEL(store)) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, FALSE);

    // both removed, put back in the other order: in their places, demo sets, opened again
    g_autoptr(OctiscopeDatasetEntry) first_set = g_list_model_get_item(G_LIST_MODEL(store), 0);
    g_autofree char *first_root = g_strdup(octiscope_dataset_entry_get_root(first_set));
    g_autoptr(OctiscopeDatasetEntry) second_set = g_list_model_get_item(G_LIST_MODEL(store), 1);
    g_autofree char *second_root = g_strdup(octiscope_dataset_entry_get_root(second_set));
    octiscope_dataset_store_remove(store, 0);
    octiscope_dataset_store_remove(store, 0);
    ck_assert_int_eq(g_list_model_get_n_items(G_LIST_MODEL(store)), 0);
    ck_assert(octiscope_dataset_store_restore(store, second_root) != NULL);
    OctiscopeDatasetEntry *back = octiscope_dataset_store_restore(store, first_root);
    ck_assert(back != NULL && octiscope_dataset_entry_get_demo(back));
    guint at = 9;
    ck_assert(octiscope_dataset_store_find(store, first_root, &at) && at == 0);
    ck_assert(octiscope_dataset_store_find(store, second_root, &at) && at == 1);
    end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (!datasets_open(G_LIST_MODEL(store)) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, FALSE);
    ck_assert_int_eq(octiscope_dataset_entry_get_state(back), OCTISCOPE_DATASET_READY);
    g_object_unref(store);
}
END_TEST

int main(void) {
    Suite *s = suite_create("studio-store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, demo_models_on_first_start);
    tcase_add_test(tc, remembered_and_removed);
    tcase_add_test(tc, removed_and_restored);
    tcase_add_test(tc, remembered_heads_against_the_file);
    tcase_add_test(tc, failures_and_heads);
    tcase_add_test(tc, datasets_and_items);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* GSettings' memory backend lives in this process */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
