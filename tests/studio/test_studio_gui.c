/* The studio end to end, under Xvfb (xvfb-run): starts the application on
 * the demo models and data sets, opens the demo ImageNet in the browser
 * (search, thumbnails) and the demo VOC (masks), selects an image, fills
 * the inspector for the hybrid and the invariant demo model side by side,
 * and checks what the window shows:
 *   - the library lists the three demo models with their kinds;
 *   - at an octic block the eight pulled-back feature maps on screen agree
 *     (both models), while the computed ones differ (they are moved by g);
 *   - the window is not blank (many colours, contrast) in a screenshot.
 * Screenshots are written to $OCTISCOPE_SCREENSHOT_DIR (default: the current
 * folder): library.png, browser.png, browser-voc.png, inspector.png,
 * inspector-standard.png, evaluation-dialog.png, evaluations-*.png.
 *
 * usage: test_studio_gui   (TAP output; run by meson under xvfb-run) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "octiscope-application.h"
#include "octiscope-dataset-model.h"
#include "octiscope-export.h"
#include "octiscope-image-strip.h"
#include "octiscope-preferences.h"
#include "npy_records.h"
#include "octiscope-run-item.h"
#include "results_db.h"
#include "studio-device.h"

static int tests, failures;

static void check(int ok, const char *what, const char *detail) {
    tests++;
    if (!ok) failures++;
    printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", tests, what, detail ? ": " : "", detail ? detail : "");
    fflush(stdout);
}

/* Wakes the loop every 20 ms so that the timeouts of wait_for are noticed. */
static gboolean tick(gpointer data) {
    return G_SOURCE_CONTINUE;
}

/* The longest time between two frames of the window's frame clock (a tick
 * callback keeps it drawing a frame every refresh while the test runs), from
 * frames_measure() on. The figure, no frame over 100 ms while models
 * load, run or evaluate, is a speed measure: it is printed for the record
 * (and reported from quiet runs), not asserted, since unit tests here check
 * behaviour, never timings, and this 2-core machine is shared. What is
 * asserted is the behaviour: the main loop keeps drawing while the work runs
 * off it (work on the main thread would stall it for the whole run, seconds). */
#define FRAME_TARGET_MS 100.0
#define FRAME_STALL_MS 1000.0
static gint64 last_frame, longest_frame_gap;
static guint frames_seen;

static gboolean on_frame(GtkWidget *widget, GdkFrameClock *clock, gpointer data) {
    gint64 now = g_get_monotonic_time();
    if (last_frame && now - last_frame > longest_frame_gap) longest_frame_gap = now - last_frame;
    last_frame = now;
    frames_seen++;
    return G_SOURCE_CONTINUE;
}

static void frames_measure(void) {
    last_frame = g_get_monotonic_time(), longest_frame_gap = 0, frames_seen = 0;
}

/* Prints the longest frame gap since frames_measure() against the 100 ms
 * target and checks that the main loop never stalled. */
static void check_frames(const char *what) {
    gint64 open_gap = g_get_monotonic_time() - last_frame; /* since the last frame, if none came since */
    if (open_gap > longest_frame_gap) longest_frame_gap = open_gap;
    printf("# while %s: longest gap between frames %.0f ms over %u frames (target %.0f ms)\n", what,
           longest_frame_gap / 1000.0, frames_seen, FRAME_TARGET_MS);
    char detail[160], name[200];
    snprintf(detail, sizeof detail, "longest gap between frames %.0f ms over %u frames", longest_frame_gap / 1000.0,
             frames_seen);
    snprintf(name, sizeof name, "the main loop keeps drawing while %s", what);
    check(frames_seen > 0 && longest_frame_gap < (gint64)(FRAME_STALL_MS * 1000), name, detail);
}

/* Runs the main loop until done(data) or the timeout (seconds); FALSE on timeout. */
static gboolean wait_for(gboolean (*done)(gpointer), gpointer data, double timeout) {
    gint64 end = g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);
    while (!done(data)) {
        if (g_get_monotonic_time() > end) return FALSE;
        g_main_context_iteration(NULL, TRUE);
    }
    return TRUE;
}

/* Lets a few frames be drawn. */
static void settle(double seconds) {
    gint64 end = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
    while (g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
}

static gboolean models_probed(gpointer data) {
    GListModel *store = data;
    guint n = g_list_model_get_n_items(store);
    if (n < 3) return FALSE;
    for (guint i = 0; i < n; i++) {
        g_autoptr(OctiscopeModelEntry) e = g_list_model_get_item(store, i);
        if (octiscope_model_entry_get_state(e) == OCTISCOPE_MODEL_PROBING) return FALSE;
    }
    return TRUE;
}

static gboolean inspector_done(gpointer data) {
    OctiscopeInspector *ins = data;
    return !octiscope_inspector_is_busy(ins) && octiscope_model_pane_get_analysis(octiscope_inspector_get_pane(ins, 0)) &&
           octiscope_model_pane_get_analysis(octiscope_inspector_get_pane(ins, 1));
}

static gboolean datasets_opened(gpointer data) {
    GListModel *list = data;
    if (g_list_model_get_n_items(list) == 0) return FALSE;
    for (guint i = 0; i < g_list_model_get_n_items(list); i++) {
        g_autoptr(OctiscopeDatasetEntry) e = g_list_model_get_item(list, i);
        if (octiscope_dataset_entry_get_state(e) == OCTISCOPE_DATASET_OPENING) return FALSE;
    }
    return TRUE;
}

static gboolean browser_idle(gpointer data) {
    return !octiscope_browser_is_busy(data);
}

static gboolean thumbnails_ready(gpointer data) {
    GListModel *items = octiscope_browser_get_items(data);
    return items && octiscope_browser_get_thumbnails_cached(data) >= g_list_model_get_n_items(items);
}

static gboolean evaluations_idle(gpointer data) {
    return !octiscope_evaluations_is_busy(data);
}

static void count_error(int *errors, const char *message) {
    (*errors)++;
    printf("# error shown: %s\n", message);
}

/* The first label under w whose text contains needle, or NULL. */
static GtkWidget *find_label(GtkWidget *w, const char *needle) {
    if (GTK_IS_LABEL(w) && strstr(gtk_label_get_text(GTK_LABEL(w)), needle)) return w;
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *l = find_label(c, needle);
        if (l) return l;
    }
    return NULL;
}

/* The text of that label, or NULL: what a toast on the window says. */
static const char *find_label_text(GtkWidget *w, const char *needle) {
    GtkWidget *l = find_label(w, needle);
    return l ? gtk_label_get_text(GTK_LABEL(l)) : NULL;
}

/* The first row under w whose title is `title` (AdwPreferencesRow). */
static GtkWidget *find_row(GtkWidget *w, const char *title) {
    if (ADW_IS_PREFERENCES_ROW(w) && g_strcmp0(adw_preferences_row_get_title(ADW_PREFERENCES_ROW(w)), title) == 0)
        return w;
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *r = find_row(c, title);
        if (r) return r;
    }
    return NULL;
}

/* The first widget under w of the named type (for the toast's own widgets,
 * which libadwaita does not export). */
static GtkWidget *find_type(GtkWidget *w, const char *type_name) {
    if (g_strcmp0(G_OBJECT_TYPE_NAME(w), type_name) == 0) return w;
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *t = find_type(c, type_name);
        if (t) return t;
    }
    return NULL;
}

/* The first button under w whose tooltip is `tooltip`. */
static GtkWidget *find_button(GtkWidget *w, const char *tooltip) {
    if (GTK_IS_BUTTON(w) && g_strcmp0(gtk_widget_get_tooltip_text(w), tooltip) == 0) return w;
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *t = find_button(c, tooltip);
        if (t) return t;
    }
    return NULL;
}

/* The search entry under w with this placeholder text. */
static GtkWidget *find_search(GtkWidget *w, const char *placeholder) {
    if (GTK_IS_SEARCH_ENTRY(w)) {
        g_autofree char *p = NULL;
        g_object_get(w, "placeholder-text", &p, NULL);
        if (g_strcmp0(p, placeholder) == 0) return w;
    }
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *t = find_search(c, placeholder);
        if (t) return t;
    }
    return NULL;
}

/* The New Evaluation dialog, opened by its action. */
static GtkWindow *open_eval_dialog(OctiscopeWindow *win, OctiscopeApplication *app) {
    gtk_widget_activate_action(GTK_WIDGET(win), "win.new-evaluation", NULL);
    settle(0.5);
    GtkWindow *dialog = NULL;
    for (GList *l = gtk_application_get_windows(GTK_APPLICATION(app)); l; l = l->next)
        if (OCTISCOPE_IS_EVAL_DIALOG(l->data)) dialog = l->data;
    return dialog;
}

/* The first button under w whose label is `label`. */
static GtkWidget *find_labelled_button(GtkWidget *w, const char *label) {
    if (GTK_IS_BUTTON(w) && g_strcmp0(gtk_button_get_label(GTK_BUTTON(w)), label) == 0) return w;
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *t = find_labelled_button(c, label);
        if (t) return t;
    }
    return NULL;
}

/* Closes the toasts on the window with their close buttons, as a user does
 * (on a window that is not focused, as under Xvfb, their timeouts wait, so
 * a queued toast would not show). */
static void close_toasts(GtkWidget *win) {
    for (int i = 0; i < 20; i++) {
        GtkWidget *toast = find_type(win, "AdwToastWidget");
        GtkWidget *close = toast ? find_type(toast, "GtkButton") : NULL;
        if (!close) return;
        gtk_widget_activate(close);
        settle(0.6);
    }
}

static gboolean cuda_notice_shown(gpointer data) {
    return find_label_text(data, "CUDA is not available") != NULL;
}

static gboolean image_loaded(gpointer data) {
    return octiscope_inspector_get_image_path(data) != NULL && !octiscope_inspector_is_busy(data);
}

/* The RGB bytes of texture i of a strip (caller frees). */
static guint8 *strip_pixels(GtkWidget *strip, guint i, int *w, int *h) {
    GdkTexture *t = octiscope_image_strip_get_texture(OCTISCOPE_IMAGE_STRIP(strip), i);
    if (!t) return NULL;
    *w = gdk_texture_get_width(t), *h = gdk_texture_get_height(t);
    guint8 *px = g_malloc((gsize)*w * *h * 4);
    gdk_texture_download(t, px, (gsize)*w * 4);
    return px;
}

/* The largest difference (0..255) between strip picture g and picture 0, over all g. */
static int strip_spread(GtkWidget *strip) {
    if (octiscope_image_strip_get_n_images(OCTISCOPE_IMAGE_STRIP(strip)) != 8) return 999;
    int w0 = 0, h0 = 0, worst = 0;
    g_autofree guint8 *p0 = strip_pixels(strip, 0, &w0, &h0);
    for (guint g = 1; g < 8; g++) {
        int w = 0, h = 0;
        g_autofree guint8 *p = strip_pixels(strip, g, &w, &h);
        if (w != w0 || h != h0) return 999;
        for (int i = 0; i < w * h * 4; i++) worst = MAX(worst, abs(p[i] - p0[i]));
    }
    return worst;
}

/* Distinct colours (on a 6-bit grid) and the standard deviation of the luma
 * of a texture: a blank or single-colour window has few and ~0. */
static void texture_stats(GdkTexture *t, int *colours, double *luma_std) {
    int w = gdk_texture_get_width(t), h = gdk_texture_get_height(t);
    g_autofree guint8 *px = g_malloc((gsize)w * h * 4);
    gdk_texture_download(t, px, (gsize)w * 4);
    g_autofree guint8 *seen = g_malloc0(1 << 18);
    double s = 0, s2 = 0;
    *colours = 0;
    for (int i = 0; i < w * h; i++) {
        const guint8 *p = px + (gsize)i * 4; /* B G R A in memory (premultiplied ARGB32 little endian) */
        int key = (p[0] >> 2) << 12 | (p[1] >> 2) << 6 | (p[2] >> 2);
        if (!seen[key]) seen[key] = 1, (*colours)++;
        double l = 0.0722 * p[0] + 0.7152 * p[1] + 0.2126 * p[2];
        s += l, s2 += l * l;
    }
    double mean = s / (w * h);
    *luma_std = sqrt(fmax(0.0, s2 / (w * h) - mean * mean));
}

/* Renders the window, checks nothing itself, and writes the top max_h pixels
 * (0: all) as a PNG for the README. */
static void screenshot(GtkWidget *window, const char *name, int max_h, int *colours, double *luma_std) {
    g_autoptr(GdkTexture) t = octiscope_widget_render(window);
    *colours = 0, *luma_std = 0;
    if (!t) return;
    texture_stats(t, colours, luma_std);
    int w = gdk_texture_get_width(t), h = gdk_texture_get_height(t);
    g_autoptr(GdkTexture) out = g_object_ref(t);
    if (max_h > 0 && max_h < h) {
        guint8 *px = g_malloc((gsize)w * h * 4);
        gdk_texture_download(t, px, (gsize)w * 4);
        g_autoptr(GBytes) top = g_bytes_new_take(px, (gsize)w * max_h * 4);
        g_object_unref(out);
        out = gdk_memory_texture_new(w, max_h, GDK_MEMORY_DEFAULT, top, (gsize)w * 4);
    }
    const char *dir = g_getenv("OCTISCOPE_SCREENSHOT_DIR");
    g_autofree char *path = g_build_filename(dir && *dir ? dir : ".", name, NULL);
    if (!gdk_texture_save_to_png(out, path))
        fprintf(stderr, "# could not write %s\n", path);
    else
        printf("# screenshot: %s\n", path);
}

/* ---- a synthetic ImageNet of 1,281,167 training entries ------------------------------ */

/* The DINOv2 layout with its extra files and no image at all: the entries
 * decide the items, so the browser lists 1.28 M names that nothing decodes
 * (no 1.28 M files on disk, one 100 MB entries file). */
#define BIG_TRAIN 1281167
#define BIG_VAL 50000
#define BIG_CLASSES 1000

typedef struct {
    octic_npyrec_field f[4];
    size_t per_class; /* consecutive entries per class, as ImageFolder orders them */
} big_writer;

static void fill_big(void *ctx, size_t i, uint8_t *rec) {
    const big_writer *w = ctx;
    uint32_t actual = (uint32_t)i, cls = (uint32_t)MIN(i / w->per_class, BIG_CLASSES - 1);
    char id[16], name[16];
    snprintf(id, sizeof id, "n%08u", 1000000 + cls);
    snprintf(name, sizeof name, "class %u", cls);
    memcpy(rec + w->f[0].offset, &actual, 4);
    memcpy(rec + w->f[1].offset, &cls, 4);
    octic_utf8_to_utf32(id, (uint32_t *)(void *)(rec + w->f[2].offset), (size_t)w->f[2].size);
    octic_utf8_to_utf32(name, (uint32_t *)(void *)(rec + w->f[3].offset), (size_t)w->f[3].size);
}

static gboolean make_big_imagenet(const char *root) {
    g_autofree char *train = g_build_filename(root, "train", NULL), *val = g_build_filename(root, "val", NULL),
                    *extra = g_build_filename(root, "extra", NULL);
    if (g_mkdir_with_parents(train, 0755) || g_mkdir_with_parents(val, 0755) || g_mkdir_with_parents(extra, 0755))
        return FALSE;
    GString *labels = g_string_new(NULL);
    for (int c = 0; c < BIG_CLASSES; c++) g_string_append_printf(labels, "n%08d,class %d\n", 1000000 + c, c);
    g_autofree char *labels_path = g_build_filename(root, "labels.txt", NULL);
    gboolean ok = g_file_set_contents(labels_path, labels->str, -1, NULL);
    g_string_free(labels, TRUE);
    const char *splits[2] = {"TRAIN", "VAL"};
    const size_t counts[2] = {BIG_TRAIN, BIG_VAL};
    for (int s = 0; s < 2 && ok; s++) {
        big_writer w = {{{"actual_index", 'u', 4, 0}, {"class_index", 'u', 4, 0}, {"class_id", 'U', 9, 0},
                         {"class_name", 'U', 9, 0}},
                        (counts[s] + BIG_CLASSES - 1) / BIG_CLASSES};
        octic_npyrec_pack(w.f, 4);
        g_autofree char *name = g_strdup_printf("entries-%s.npy", splits[s]);
        g_autofree char *path = g_build_filename(extra, name, NULL);
        ok = octic_npyrec_write_fn(path, 1, w.f, 4, counts[s], fill_big, &w) == OCTIC_OK;
    }
    return ok;
}

static gboolean dataset_ready(gpointer data) {
    return octiscope_dataset_entry_get_state(data) != OCTISCOPE_DATASET_OPENING;
}

static GtkWidget *find_grid(GtkWidget *w) {
    if (GTK_IS_GRID_VIEW(w)) return w;
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *g = find_grid(c);
        if (g) return g;
    }
    return NULL;
}

/* One step of the big browser: the time it took and its longest frame gap
 * (the frames that lay out the new cells included), printed for the record:
 * speed is not asserted (the target is no frame over 100 ms). */
static void big_step(const char *what, gint64 started) {
    gint64 open_gap = g_get_monotonic_time() - last_frame;
    if (open_gap > longest_frame_gap) longest_frame_gap = open_gap;
    printf("# 1.28 M entries: %s in %.0f ms, longest gap between frames %.0f ms over %u frames\n", what,
           (g_get_monotonic_time() - started) / 1000.0, longest_frame_gap / 1000.0, frames_seen);
}

/* The item at position of the browser's list is entry index of class cls
 * (the synthetic set: per_class consecutive entries per class). */
static void check_big_item(GListModel *items, guint position, guint index, int cls, const char *what) {
    g_autoptr(OctiscopeDatasetItem) it = items ? g_list_model_get_item(items, position) : NULL;
    char detail[200];
    snprintf(detail, sizeof detail, "item %u: index %zu, class %d, %s", position,
             it ? octiscope_dataset_item_get_index(it) : 0, it ? octiscope_dataset_item_get_label(it) : -2,
             it ? octiscope_dataset_item_get_name(it) : "none");
    char id[32];
    snprintf(id, sizeof id, "n%08d_%u", 1000000 + cls, index);
    check(it && octiscope_dataset_item_get_index(it) == index && octiscope_dataset_item_get_label(it) == cls &&
              strstr(octiscope_dataset_item_get_name(it), id) != NULL,
          what, detail);
}

static gboolean big_browser(OctiscopeBrowser *browser) {
    g_autofree char *root = g_dir_make_tmp("octiscope-big-imagenet-XXXXXX", NULL);
    gint64 t = g_get_monotonic_time();
    if (!root || !make_big_imagenet(root)) return FALSE;
    printf("# 1.28 M entries: synthetic entries written in %.0f ms\n", (g_get_monotonic_time() - t) / 1000.0);
    frames_measure();
    t = g_get_monotonic_time();
    g_autoptr(OctiscopeDatasetEntry) big = octiscope_dataset_entry_new(root, FALSE);
    gboolean ready = wait_for(dataset_ready, big, 120) && octiscope_dataset_entry_get_dataset(big) != NULL;
    check(ready, "the synthetic ImageNet of 1.28 M entries opens", octiscope_dataset_entry_get_summary(big));
    if (!ready) return FALSE;
    big_step("the data set opened (in a worker)", t);
    frames_measure();
    t = g_get_monotonic_time();
    octiscope_browser_show_dataset(browser, big);
    octiscope_browser_show_split(browser, "train");
    wait_for(browser_idle, browser, 60);
    settle(0.3);
    GListModel *items = octiscope_browser_get_items(browser);
    char detail[120];
    snprintf(detail, sizeof detail, "%u items", items ? g_list_model_get_n_items(items) : 0);
    check(items && g_list_model_get_n_items(items) == BIG_TRAIN, "the browser lists the 1,281,167 training entries",
          detail);
    guint per_class = (BIG_TRAIN + BIG_CLASSES - 1) / BIG_CLASSES;
    check_big_item(items, 0, 0, 0, "the list starts with the first entry");
    check_big_item(items, BIG_TRAIN - 1, BIG_TRAIN - 1, BIG_CLASSES - 1, "the list ends with the last entry");
    big_step("the list model made and the first cells bound", t);
    GtkWidget *grid = find_grid(GTK_WIDGET(browser));
    GtkAdjustment *adj = grid ? gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(grid)) : NULL;
    check(adj != NULL, "the grid has a scroll adjustment", NULL);
    if (adj) {
        frames_measure();
        t = g_get_monotonic_time();
        const double at[6] = {0.5, 0.999, 0.25, 0.75, 0.0001, 1.0};
        for (int i = 0; i < 6; i++) {
            double range = gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj);
            gtk_adjustment_set_value(adj, at[i] * range);
            settle(0.25);
        }
        big_step("six jumps across the grid, cells bound at each", t);
        check(g_list_model_get_n_items(items) == BIG_TRAIN, "the jumps leave the list as it was", NULL);
        check_big_item(items, 640000, 640000, 640000 / per_class, "the item in the middle is the middle entry");
    }
    frames_measure();
    t = g_get_monotonic_time();
    octiscope_browser_set_filter(browser, 500, NULL);
    wait_for(browser_idle, browser, 60);
    settle(0.3);
    items = octiscope_browser_get_items(browser);
    snprintf(detail, sizeof detail, "%u items", items ? g_list_model_get_n_items(items) : 0);
    check(items && g_list_model_get_n_items(items) == per_class, "the class filter keeps one class's entries", detail);
    check_big_item(items, 0, 500 * per_class, 500, "the class's first entry comes first");
    check_big_item(items, per_class - 1, 501 * per_class - 1, 500, "the class's last entry comes last");
    big_step("filtered by class", t);
    frames_measure();
    t = g_get_monotonic_time();
    octiscope_browser_set_filter(browser, -1, "N01000999_1281166"); /* case-insensitive */
    wait_for(browser_idle, browser, 60);
    settle(0.3);
    items = octiscope_browser_get_items(browser);
    snprintf(detail, sizeof detail, "%u items", items ? g_list_model_get_n_items(items) : 0);
    check(items && g_list_model_get_n_items(items) == 1, "a search by file name finds the last entry", detail);
    check_big_item(items, 0, BIG_TRAIN - 1, BIG_CLASSES - 1, "the entry found is the last one");
    big_step("searched by name", t);
    frames_measure();
    t = g_get_monotonic_time();
    octiscope_browser_set_filter(browser, -1, NULL);
    wait_for(browser_idle, browser, 60);
    settle(0.3);
    items = octiscope_browser_get_items(browser);
    check(items && g_list_model_get_n_items(items) == BIG_TRAIN, "clearing the filter lists every entry again", NULL);
    check_big_item(items, 1000, 1000, 1000 / per_class, "the entries are in their order again");
    big_step("filter cleared", t);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", root);
    if (system(rm) != 0) fprintf(stderr, "# could not remove %s\n", root);
    return TRUE;
}

int main(int argc, char **argv) {
    g_autofree char *image = NULL; /* the image selected in the browser */
    printf("TAP version 13\n");
    octiscope_prepare_environment();
    OctiscopeApplication *app = octiscope_application_new(G_APPLICATION_NON_UNIQUE);
    g_autoptr(GError) error = NULL;
    if (!g_application_register(G_APPLICATION(app), NULL, &error)) {
        printf("Bail out! cannot register the application: %s\n", error->message);
        return 1;
    }
    g_timeout_add(20, tick, NULL); /* wakes the loop so timeouts are noticed */
    OctiscopeWindow *win = octiscope_application_get_window(app);
    gtk_widget_add_tick_callback(GTK_WIDGET(win), on_frame, NULL, NULL);
    gtk_window_set_default_size(GTK_WINDOW(win), 1280, 1600);
    gtk_window_present(GTK_WINDOW(win));

    // 0. the app's icon is found without an installation (from the resources)
    GtkIconTheme *icons = gtk_icon_theme_get_for_display(gtk_widget_get_display(GTK_WIDGET(win)));
    check(gtk_icon_theme_has_icon(icons, OCTISCOPE_APP_ID) && gtk_icon_theme_has_icon(icons, OCTISCOPE_APP_ID "-symbolic"),
          "the app's icon and its symbolic one are found from the build tree", NULL);

    // 1. the library: the three demo models, read in the background
    GListModel *store = G_LIST_MODEL(octiscope_application_get_store(app));
    gboolean probed = wait_for(models_probed, store, 60);
    check(probed, "the three demo models are in the library and read", NULL);
    OctiscopeModelStore *st = OCTISCOPE_MODEL_STORE(store);
    OctiscopeModelEntry *hybrid = octiscope_model_store_find_kind(st, OCTIC_KIND_HYBRID);
    OctiscopeModelEntry *invariant = octiscope_model_store_find_kind(st, OCTIC_KIND_INVARIANT);
    OctiscopeModelEntry *standard = octiscope_model_store_find_kind(st, OCTIC_KIND_STANDARD);
    check(hybrid && invariant && standard, "a hybrid, an invariant and a standard model are ready", NULL);
    if (!hybrid || !invariant || !standard) {
        printf("1..%d\n", tests);
        return 1;
    }
    octiscope_window_show_page(win, "library");
    settle(0.5);
    /* Export (the inspector's pictures) is offered on the Inspector only */
    GtkWidget *export_btn = find_button(GTK_WIDGET(win), "Export the inspector's pictures and numbers (Ctrl+E)");
    check(export_btn && !gtk_widget_is_sensitive(export_btn), "Export is not offered on the Library page", NULL);
    octiscope_window_show_page(win, "inspector");
    settle(0.2);
    check(export_btn && gtk_widget_is_sensitive(export_btn), "and is on the Inspector", NULL);
    octiscope_window_show_page(win, "library");
    settle(0.3);
    int colours;
    double luma_std;
    screenshot(GTK_WIDGET(win), "library.png", 560, &colours, &luma_std);

    // 2. the demo ImageNet in the browser: its val split, a search, an image selected
    OctiscopeBrowser *browser = octiscope_window_get_browser(win);
    GListModel *datasets = G_LIST_MODEL(octiscope_application_get_datasets(app));
    gboolean opened = wait_for(datasets_opened, datasets, 60);
    check(opened && g_list_model_get_n_items(datasets) == 2, "the demo data sets (ImageNet, VOC) are in the library", NULL);
    g_autoptr(OctiscopeDatasetEntry) imagenet = g_list_model_get_item(datasets, 0);
    g_autoptr(OctiscopeDatasetEntry) voc = g_list_model_get_item(datasets, 1);
    check(imagenet && octiscope_dataset_entry_get_dataset(imagenet) != NULL, "the demo ImageNet opens",
          imagenet ? octiscope_dataset_entry_get_summary(imagenet) : NULL);
    if (!imagenet || !octiscope_dataset_entry_get_dataset(imagenet)) {
        printf("1..%d\n", tests);
        return 1;
    }
    octiscope_window_show_page(win, "browser");
    octiscope_browser_show_dataset(browser, imagenet);
    GListModel *items = octiscope_browser_get_items(browser);
    wait_for(browser_idle, browser, 30);
    char detail[160];
    snprintf(detail, sizeof detail, "%u items", items ? g_list_model_get_n_items(items) : 0);
    check(items && g_list_model_get_n_items(items) == 3, "the browser shows the 3 images of the val split", detail);
    octiscope_browser_set_filter(browser, -1, "VAL_00000002");
    wait_for(browser_idle, browser, 30);
    items = octiscope_browser_get_items(browser);
    check(g_list_model_get_n_items(items) == 1, "a search in the file names keeps one image", NULL);
    octiscope_browser_set_filter(browser, -1, NULL);
    wait_for(browser_idle, browser, 30);
    octiscope_browser_select(browser, 1);
    gboolean thumbs = wait_for(thumbnails_ready, browser, 30);
    snprintf(detail, sizeof detail, "%u cached", octiscope_browser_get_thumbnails_cached(browser));
    check(thumbs, "the thumbnails are decoded", detail);
    settle(0.5);
    screenshot(GTK_WIDGET(win), "browser.png", 520, &colours, &luma_std);
    const char *selected = octiscope_browser_get_selected_path(browser);
    check(selected != NULL, "an image is selected", selected);
    image = g_strdup(selected);

    // the demo VOC: label masks over the photos
    octiscope_browser_show_dataset(browser, voc);
    if (octiscope_dataset_entry_get_dataset(voc)) {
        wait_for(browser_idle, browser, 30);
        octiscope_browser_select(browser, 0);
        wait_for(thumbnails_ready, browser, 30);
        settle(0.8);
        screenshot(GTK_WIDGET(win), "browser-voc.png", 520, &colours, &luma_std);
    }
    // a data set that cannot be opened (an empty folder), after one with an
    // image selected: nothing of the other is left to inspect
    octiscope_browser_show_dataset(browser, imagenet);
    wait_for(browser_idle, browser, 30);
    octiscope_browser_select(browser, 1);
    settle(0.3);
    g_autofree char *emptyds = g_dir_make_tmp("octiscope-emptyds-XXXXXX", NULL);
    octiscope_dataset_store_add(OCTISCOPE_DATASET_STORE(datasets), emptyds);
    guint emptypos = 0;
    octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), emptyds, &emptypos);
    g_autoptr(OctiscopeDatasetEntry) emptyentry = g_list_model_get_item(datasets, emptypos);
    for (int i = 0; i < 100 && octiscope_dataset_entry_get_state(emptyentry) != OCTISCOPE_DATASET_FAILED; i++) settle(0.05);
    octiscope_browser_show_dataset(browser, emptyentry);
    settle(0.3);
    GtkWidget *inspect_btn = find_button(GTK_WIDGET(browser), "Open the selected image in the inspector (Enter or double-click)");
    const char *count_left = find_label_text(GTK_WIDGET(browser), "3 images"); /* the demo ImageNet's val count */
    snprintf(detail, sizeof detail, "state %d, inspect %d, selected %s, count '%s'",
             octiscope_dataset_entry_get_state(emptyentry), inspect_btn ? gtk_widget_is_sensitive(inspect_btn) : -1,
             octiscope_browser_get_selected_path(browser), count_left ? count_left : "");
    check(octiscope_dataset_entry_get_state(emptyentry) == OCTISCOPE_DATASET_FAILED && inspect_btn &&
              !gtk_widget_is_sensitive(inspect_btn) && octiscope_browser_get_selected_path(browser) == NULL &&
              !count_left,
          "a data set that cannot be opened leaves no image of the last one selected, counted or to inspect", detail);
    if (octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), emptyds, &emptypos))
        octiscope_dataset_store_remove(OCTISCOPE_DATASET_STORE(datasets), emptypos);
    g_rmdir(emptyds);
    // a file that cannot be decoded shows a broken-image sign in its cell, not an empty one
    g_autofree char *brokends = g_dir_make_tmp("octiscope-brokends-XXXXXX", NULL);
    g_autofree char *brokencls = g_build_filename(brokends, "cls", NULL);
    g_autofree char *brokenfile = g_build_filename(brokencls, "broken.jpg", NULL);
    g_autofree char *goodfile = g_build_filename(brokencls, "good.jpg", NULL);
    g_mkdir_with_parents(brokencls, 0755);
    g_file_set_contents(brokenfile, "not a picture", -1, NULL);
    {
        g_autofree char *src = NULL;
        gsize srclen = 0;
        if (g_file_get_contents(image, &src, &srclen, NULL)) g_file_set_contents(goodfile, src, (gssize)srclen, NULL);
    }
    octiscope_dataset_store_add(OCTISCOPE_DATASET_STORE(datasets), brokends);
    guint brokenpos = 0;
    octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), brokends, &brokenpos);
    g_autoptr(OctiscopeDatasetEntry) brokenentry = g_list_model_get_item(datasets, brokenpos);
    for (int i = 0; i < 100 && octiscope_dataset_entry_get_state(brokenentry) == OCTISCOPE_DATASET_OPENING; i++)
        settle(0.05);
    octiscope_browser_show_dataset(browser, brokenentry);
    wait_for(browser_idle, browser, 30);
    settle(1.5);
    int broken_signs = 0, photos = 0;
    for (GtkWidget *w = find_type(GTK_WIDGET(browser), "GtkGridView"), *c = w ? gtk_widget_get_first_child(w) : NULL; c;
         c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *pic = find_type(c, "GtkPicture");
        GdkPaintable *pt = pic ? gtk_picture_get_paintable(GTK_PICTURE(pic)) : NULL;
        broken_signs += pt && GTK_IS_ICON_PAINTABLE(pt);
        photos += pt && GDK_IS_TEXTURE(pt);
    }
    snprintf(detail, sizeof detail, "%d broken-image signs, %d photos", broken_signs, photos);
    check(broken_signs == 1 && photos == 1, "a file that cannot be decoded shows a broken-image sign in the grid", detail);
    if (octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), brokends, &brokenpos))
        octiscope_dataset_store_remove(OCTISCOPE_DATASET_STORE(datasets), brokenpos);
    g_autofree char *rmbroken = g_strdup_printf("rm -rf '%s'", brokends);
    if (system(rmbroken) != 0) fprintf(stderr, "# could not remove %s\n", brokends);
    // a split of 1.28 M entries: opening, listing, scrolling and filtering keep the frames coming
    big_browser(browser);
    octiscope_browser_show_dataset(browser, imagenet);
    wait_for(browser_idle, browser, 30);
    octiscope_browser_select(browser, 1);

    // 3. the selected image into the inspector, hybrid beside invariant
    OctiscopeInspector *ins = octiscope_window_get_inspector(win);
    octiscope_inspector_set_models(ins, hybrid, invariant);
    frames_measure();
    octiscope_browser_inspect_selected(browser);
    check(g_strcmp0(adw_view_stack_get_visible_child_name(
                        ADW_VIEW_STACK(gtk_widget_get_ancestor(GTK_WIDGET(ins), ADW_TYPE_VIEW_STACK))),
                    "inspector") == 0,
          "Inspect shows the inspector", NULL);
    gboolean loaded = wait_for(image_loaded, ins, 60);
    check(loaded, "the image is loaded", image);
    gboolean done = loaded && wait_for(inspector_done, ins, 300);
    if (done) check_frames("two models loaded and ran");
    check(done, "both models ran on the eight copies", NULL);
    if (!done) {
        for (int i = 0; i < 2; i++) {
            const char *err = octiscope_model_pane_get_error(octiscope_inspector_get_pane(ins, i));
            if (err) printf("# pane %d: %s\n", i, err);
        }
        printf("1..%d\n", tests);
        return 1;
    }

    // 4. an octic block: the pulled-back maps on screen agree, the computed ones are moved
    const octiscope_analysis *a = octiscope_model_pane_get_analysis(octiscope_inspector_get_pane(ins, 0));
    int octic_block = a->break_layer;
    octiscope_inspector_set_block(ins, octic_block);
    settle(0.5);
    for (int i = 0; i < 2; i++) {
        OctiscopeModelPane *pane = octiscope_inspector_get_pane(ins, i);
        const char *kind = octic_kind_name(octiscope_model_pane_get_analysis(pane)->kind);
        int pulled = strip_spread(octiscope_model_pane_get_pulled_strip(pane));
        snprintf(detail, sizeof detail, "%s model, block %d: largest difference %d/255", kind, octic_block, pulled);
        check(pulled <= 1, "the eight pulled-back feature maps of an octic block agree", detail);
        int computed = strip_spread(octiscope_model_pane_get_computed_strip(pane));
        snprintf(detail, sizeof detail, "%s model: largest difference %d/255", kind, computed);
        check(computed > 32, "the computed feature maps differ between copies", detail);
    }
    /* blocks numbered as blocks.N in the checkpoint and in the command line:
     * output break_layer is what block break_layer - 1 gives */
    g_autofree char *after = g_strdup_printf("after block %d", octic_block - 1);
    g_autofree char *heading = g_strdup_printf("Features as computed, f(g·x), after block %d (octic)", octic_block - 1);
    check(find_label_text(GTK_WIDGET(ins), after) && find_label_text(GTK_WIDGET(ins), heading),
          "the block is named from 0, as in the checkpoint and the command line", after);
    screenshot(GTK_WIDGET(win), "inspector.png", 0, &colours, &luma_std);
    snprintf(detail, sizeof detail, "%d colours, luma standard deviation %.1f", colours, luma_std);
    check(colours > 500 && luma_std > 15, "the inspector window is not blank", detail);

    // 5. the standard model beside the hybrid, last block: not equivariant
    octiscope_inspector_set_models(ins, hybrid, standard);
    done = wait_for(inspector_done, ins, 300);
    check(done, "the standard model ran", NULL);
    if (done) {
        /* side by side, the two equivariance charts share their scale: the
         * hybrid's 1e-7 and the standard model's 1e0 on one axis */
        double lo[2], hi[2], dlo[2], dhi[2];
        for (int i = 0; i < 2; i++) {
            OctiscopePlot *p = octiscope_model_pane_get_equivariance_plot(octiscope_inspector_get_pane(ins, i));
            octiscope_plot_get_log_span(p, TRUE, &lo[i], &hi[i]);
            octiscope_plot_get_log_span(p, FALSE, &dlo[i], &dhi[i]);
        }
        snprintf(detail, sizeof detail, "shown 1e%.0f..1e%.0f and 1e%.0f..1e%.0f; data 1e%.0f..1e%.0f and 1e%.0f..1e%.0f",
                 lo[0], hi[0], lo[1], hi[1], dlo[0], dhi[0], dlo[1], dhi[1]);
        check(lo[0] == lo[1] && hi[0] == hi[1] && lo[0] == fmin(dlo[0], dlo[1]) && hi[0] == fmax(dhi[0], dhi[1]) &&
                  (dlo[0] != dlo[1] || dhi[0] != dhi[1]),
              "the two models' equivariance charts share one scale", detail);
        const octiscope_analysis *s = octiscope_model_pane_get_analysis(octiscope_inspector_get_pane(ins, 1));
        octiscope_inspector_set_block(ins, s->nblocks - 1);
        settle(0.5);
        int pulled = strip_spread(octiscope_model_pane_get_pulled_strip(octiscope_inspector_get_pane(ins, 1)));
        snprintf(detail, sizeof detail, "largest difference %d/255", pulled);
        check(pulled > 16, "the pulled-back maps of a standard ViT's last block differ", detail);
        screenshot(GTK_WIDGET(win), "inspector-standard.png", 0, &colours, &luma_std);
    }

    // 6. export: pictures and numbers into a folder
    g_autofree char *tmp = g_dir_make_tmp("octiscope-export-XXXXXX", NULL);
    g_autoptr(GError) export_error = NULL;
    int exported_models = 0;
    gboolean exported = tmp && octiscope_inspector_export(ins, tmp, &exported_models, &export_error);
    check(exported && exported_models == 2, "export writes the pictures and the numbers of both models",
          export_error ? export_error->message : NULL);
    /* the names carry the image and the block: an export of another block
     * into the same folder keeps the first one's files */
    g_autofree char *stem = g_path_get_basename(image);
    *strrchr(stem, '.') = '\0';
    int export_block = octiscope_inspector_get_block(ins);
    g_autofree char *prefix = octiscope_inspector_export_prefix(ins);
    g_autofree char *expected_prefix = g_strdup_printf("%s-block%d", stem, export_block - 1);
    check(export_block > 0 && g_strcmp0(prefix, expected_prefix) == 0,
          "an export's names begin with the image and the block", prefix);
    octiscope_inspector_set_block(ins, 0);
    settle(0.5);
    g_autofree char *prefix0 = octiscope_inspector_export_prefix(ins);
    g_autofree char *expected_prefix0 = g_strdup_printf("%s-embedding", stem);
    check(g_strcmp0(prefix0, expected_prefix0) == 0, "the patch embedding's export is named for it", prefix0);
    g_autoptr(GError) export0_error = NULL;
    exported = exported && octiscope_inspector_export(ins, tmp, &exported_models, &export0_error);
    check(exported, "a second export, of the patch embedding, into the same folder",
          export0_error ? export0_error->message : NULL);
    octiscope_inspector_set_block(ins, export_block);
    settle(0.5);
    if (exported) {
        const char *files[] = {"copies.png", "A-hybrid-pulled.png", "A-hybrid-equivariance.png",
                               "A-hybrid-equivariance.csv", "A-hybrid-energy.csv", "B-standard-top5.csv"};
        const char *prefixes[] = {prefix, prefix0};
        for (size_t k = 0; k < G_N_ELEMENTS(prefixes); k++)
            for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
                g_autofree char *name = g_strdup_printf("%s-%s", prefixes[k], files[i]);
                g_autofree char *p = g_build_filename(tmp, name, NULL);
                check(g_file_test(p, G_FILE_TEST_IS_REGULAR), "exported file exists", name);
                g_remove(p);
            }
        g_autoptr(GDir) d = g_dir_open(tmp, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *p = g_build_filename(tmp, name, NULL);
            g_remove(p);
        }
        g_rmdir(tmp);
    }
    /* into a folder that cannot be written: the file and the system's reason */
    g_autoptr(GError) gone_error = NULL;
    gboolean gone = octiscope_inspector_export(ins, "/nonexistent-octiscope-dir", &exported_models, &gone_error);
    g_autofree char *gone_file = g_strdup_printf("/nonexistent-octiscope-dir/%s-copies.png: cannot write: ", prefix);
    check(!gone && gone_error && strstr(gone_error->message, gone_file) &&
              strstr(gone_error->message, "No such file or directory"),
          "an export into a folder that is not there names the file and why", gone_error ? gone_error->message : NULL);

    // 7. a broken image is an error message, not a crash
    g_autofree char *bad = g_build_filename(g_get_tmp_dir(), "octiscope-not-an-image.png", NULL);
    g_file_set_contents(bad, "not a picture", -1, NULL);
    octiscope_inspector_open_image(ins, bad);
    settle(1.0);
    check(g_strcmp0(octiscope_inspector_get_image_path(ins), image) == 0,
          "a broken image leaves the inspector on the last good one", NULL);
    g_remove(bad);

    // 8. evaluations: the dialog, a queue of k-NN runs for the three demo models
    // and a segmentation run on the demo VOC, a run that fails, the results and
    // the compare mode
    OctiscopeEvaluations *evals = octiscope_window_get_evaluations(win);
    g_autofree char *evaldir = g_dir_make_tmp("octiscope-evals-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(evaldir, "results.sqlite", NULL);
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", db);
    octiscope_window_show_page(win, "evaluations");
    gtk_widget_activate_action(GTK_WIDGET(win), "win.new-evaluation", NULL);
    settle(0.8);
    GtkWindow *dialog = NULL;
    for (GList *l = gtk_application_get_windows(GTK_APPLICATION(app)); l; l = l->next)
        if (OCTISCOPE_IS_EVAL_DIALOG(l->data)) dialog = l->data;
    check(dialog != NULL, "New Evaluation opens the dialog", NULL);
    if (dialog) {
        // the augmented DINOv2 linear protocol, which has the most settings, in a
        // dialog tall enough to show them below the models and the data set
        octiscope_eval_dialog_set_protocol(OCTISCOPE_EVAL_DIALOG(dialog), OCTISCOPE_EVAL_LINEAR_DINOV2);
        gtk_window_set_default_size(dialog, 560, 860);
        settle(0.5);
        screenshot(GTK_WIDGET(dialog), "evaluation-dialog.png", 0, &colours, &luma_std);
        gtk_window_set_default_size(dialog, 560, 640); /* its own size again */
        settle(0.5);
        /* Queue with no model chosen: the reason is in view at the dialog's own size (after the screenshot) */
        GtkWidget *queue = find_labelled_button(GTK_WIDGET(dialog), "_Queue");
        if (queue) g_signal_emit_by_name(queue, "clicked");
        settle(0.3);
        GtkWidget *why = find_label(GTK_WIDGET(dialog), "Choose at least one model");
        graphene_rect_t at = GRAPHENE_RECT_INIT(0, -1, 0, 0);
        gboolean shown = FALSE;
        if (why && gtk_widget_get_mapped(why) && gtk_widget_compute_bounds(why, GTK_WIDGET(dialog), &at))
            shown = at.origin.y >= 0 && at.origin.y + at.size.height <= gtk_widget_get_height(GTK_WIDGET(dialog));
        snprintf(detail, sizeof detail, "label %s, y %.0f of %d", why ? "found" : "not found", why ? at.origin.y : -1.0,
                 gtk_widget_get_height(GTK_WIDGET(dialog)));
        check(queue && shown, "Queue without a model says why where it can be seen", detail);
        /* the chosen data set's splits and the protocol's description, in full under their names */
        GtkWidget *set_w = find_row(GTK_WIDGET(dialog), "Data set"), *protocol_w = find_row(GTK_WIDGET(dialog), "Protocol");
        const char *set_sub = set_w ? adw_action_row_get_subtitle(ADW_ACTION_ROW(set_w)) : NULL;
        const char *protocol_sub = protocol_w ? adw_action_row_get_subtitle(ADW_ACTION_ROW(protocol_w)) : NULL;
        snprintf(detail, sizeof detail, "'%s'; '%s'", set_sub ? set_sub : "-", protocol_sub ? protocol_sub : "-");
        check(set_sub && g_str_has_prefix(set_sub, "ImageNet · train 4, val 3") && protocol_sub &&
                  strstr(protocol_sub, "augmented images"),
              "the data set row gives its splits, the protocol row what the protocol does", detail);
        gtk_window_destroy(dialog);
    }
    /* New Evaluation shows the choices of the last run queued: a segmentation
     * of the demo VOC by the first model, with the k-NN's k = 1, 3 and
     * T = 0.05 typed too (run into a database of its own) */
    g_autofree char *remember_db = g_build_filename(evaldir, "remember.sqlite", NULL);
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", remember_db);
    dialog = open_eval_dialog(win, app);
    GtkWidget *first_model = dialog ? find_type(GTK_WIDGET(dialog), "GtkCheckButton") : NULL;
    GtkWidget *ks_entry = dialog ? find_type(GTK_WIDGET(dialog), "AdwEntryRow") : NULL;
    GtkWidget *temperature_row = dialog ? find_row(GTK_WIDGET(dialog), "Temperature") : NULL;
    GtkWidget *temperature = temperature_row ? find_type(temperature_row, "GtkSpinButton") : NULL;
    g_autofree char *default_ks = ks_entry ? g_strdup(gtk_editable_get_text(GTK_EDITABLE(ks_entry))) : NULL;
    GtkWidget *set_widget = dialog ? find_row(GTK_WIDGET(dialog), "Data set") : NULL;
    AdwComboRow *set_row = set_widget && ADW_IS_COMBO_ROW(set_widget) ? ADW_COMBO_ROW(set_widget) : NULL;
    guint voc_position = GTK_INVALID_LIST_POSITION;
    GListModel *sets = set_row ? adw_combo_row_get_model(set_row) : NULL;
    for (guint i = 0; sets && i < g_list_model_get_n_items(sets); i++) {
        g_autoptr(OctiscopeDatasetEntry) e = g_list_model_get_item(sets, i);
        if (e == voc) voc_position = i;
    }
    if (first_model && ks_entry && temperature && voc_position != GTK_INVALID_LIST_POSITION) {
        adw_combo_row_set_selected(set_row, voc_position);
        octiscope_eval_dialog_set_protocol(OCTISCOPE_EVAL_DIALOG(dialog), OCTISCOPE_EVAL_SEG);
        gtk_check_button_set_active(GTK_CHECK_BUTTON(first_model), TRUE);
        gtk_editable_set_text(GTK_EDITABLE(ks_entry), "1, 3");
        gtk_spin_button_set_value(GTK_SPIN_BUTTON(temperature), 0.05);
        g_signal_emit_by_name(find_labelled_button(GTK_WIDGET(dialog), "_Queue"), "clicked");
        settle(0.3);
        wait_for(evaluations_idle, evals, 100);
        settle(0.2);
    }
    const char *queued_run = find_label_text(GTK_WIDGET(evals), "done: mIoU");
    check(queued_run != NULL, "the segmentation queued from the dialog ran", queued_run);
    /* named for the folder the layout was found in, as the results table names it */
    check(find_label_text(GTK_WIDGET(evals), "Segmentation · ") &&
              g_str_has_suffix(find_label_text(GTK_WIDGET(evals), "Segmentation · "), " · VOC2012"),
          "the queue names the VOC set as the table does", find_label_text(GTK_WIDGET(evals), "Segmentation · "));
    GtkWidget *dismiss = find_button(GTK_WIDGET(evals), "Dismiss"); /* its row: the queue below counts its own */
    if (dismiss) g_signal_emit_by_name(dismiss, "clicked");
    dialog = open_eval_dialog(win, app);
    first_model = dialog ? find_type(GTK_WIDGET(dialog), "GtkCheckButton") : NULL;
    ks_entry = dialog ? find_type(GTK_WIDGET(dialog), "AdwEntryRow") : NULL;
    temperature_row = dialog ? find_row(GTK_WIDGET(dialog), "Temperature") : NULL;
    temperature = temperature_row ? find_type(temperature_row, "GtkSpinButton") : NULL;
    GtkWidget *protocol_widget = dialog ? find_row(GTK_WIDGET(dialog), "Protocol") : NULL;
    AdwComboRow *protocol_row = protocol_widget && ADW_IS_COMBO_ROW(protocol_widget) ? ADW_COMBO_ROW(protocol_widget) : NULL;
    set_widget = dialog ? find_row(GTK_WIDGET(dialog), "Data set") : NULL;
    set_row = set_widget && ADW_IS_COMBO_ROW(set_widget) ? ADW_COMBO_ROW(set_widget) : NULL;
    snprintf(detail, sizeof detail, "model %s, data set %d (VOC: %d), protocol %d, k values '%s', temperature %.2f",
             first_model && gtk_check_button_get_active(GTK_CHECK_BUTTON(first_model)) ? "checked" : "not checked",
             set_row ? (int)adw_combo_row_get_selected(set_row) : -1, (int)voc_position,
             protocol_row ? (int)adw_combo_row_get_selected(protocol_row) : -1,
             ks_entry ? gtk_editable_get_text(GTK_EDITABLE(ks_entry)) : "-",
             temperature ? gtk_spin_button_get_value(GTK_SPIN_BUTTON(temperature)) : -1.0);
    check(first_model && gtk_check_button_get_active(GTK_CHECK_BUTTON(first_model)) && protocol_row &&
              adw_combo_row_get_selected(protocol_row) == OCTISCOPE_EVAL_SEG && set_row &&
              adw_combo_row_get_selected(set_row) == voc_position && ks_entry &&
              strcmp(gtk_editable_get_text(GTK_EDITABLE(ks_entry)), "1, 3") == 0 && temperature &&
              fabs(gtk_spin_button_get_value(GTK_SPIN_BUTTON(temperature)) - 0.05) < 1e-9,
          "New Evaluation shows the last run's model, data set, protocol and settings", detail);
    GtkWidget *defaults = dialog ? find_labelled_button(GTK_WIDGET(dialog), "_Defaults") : NULL;
    if (defaults) g_signal_emit_by_name(defaults, "clicked");
    snprintf(detail, sizeof detail, "k values '%s', temperature %.2f",
             ks_entry ? gtk_editable_get_text(GTK_EDITABLE(ks_entry)) : "-",
             temperature ? gtk_spin_button_get_value(GTK_SPIN_BUTTON(temperature)) : -1.0);
    check(defaults && default_ks && strcmp(gtk_editable_get_text(GTK_EDITABLE(ks_entry)), default_ks) == 0 &&
              fabs(gtk_spin_button_get_value(GTK_SPIN_BUTTON(temperature)) - 0.07) < 1e-9,
          "Defaults puts every protocol's settings back", detail);
    if (dialog) gtk_window_destroy(dialog);
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", db);
    settle(0.3);
    int errors = 0;
    g_signal_connect_swapped(evals, "error", G_CALLBACK(count_error), &errors);
    GPtrArray *jobs = g_ptr_array_new_with_free_func((GDestroyNotify)octiscope_eval_job_free);
    const int ks[2] = {1, 3}; /* the demo ImageNet has 4 training images */
    OctiscopeModelEntry *models[3] = {hybrid, invariant, standard};
    const char *imagenet_root = octiscope_dataset_entry_get_root(imagenet), *voc_root = octiscope_dataset_entry_get_root(voc);
    for (int i = 0; i < 3; i++)
        g_ptr_array_add(jobs, octiscope_eval_job_new(octiscope_model_entry_get_path(models[i]), 0,
                                                     octiscope_model_entry_get_title(models[i]), imagenet_root,
                                                     OCTISCOPE_EVAL_KNN, 0, ks, 2));
    g_ptr_array_add(jobs, octiscope_eval_job_new(octiscope_model_entry_get_path(hybrid), 0, "hybrid", voc_root,
                                                 OCTISCOPE_EVAL_SEG, 0, NULL, 0));
    g_ptr_array_add(jobs, octiscope_eval_job_new(octiscope_model_entry_get_path(hybrid), 0, "hybrid", imagenet_root,
                                                 OCTISCOPE_EVAL_SEG, 0, NULL, 0)); /* fails: not a segmentation set */
    octiscope_evaluations_queue(evals, jobs);
    g_ptr_array_unref(jobs);
    settle(0.3);
    /* the five rows scroll in at most 200 px: the runs table below keeps its room */
    GtkWidget *qlist = find_type(GTK_WIDGET(evals), "GtkListBox");
    GtkWidget *qscroll = qlist ? gtk_widget_get_ancestor(qlist, GTK_TYPE_SCROLLED_WINDOW) : NULL;
    snprintf(detail, sizeof detail, "queue %d px in a scroller of %d px", qlist ? gtk_widget_get_height(qlist) : -1,
             qscroll ? gtk_widget_get_height(qscroll) : -1);
    check(qscroll && gtk_widget_get_height(qlist) > 200 && gtk_widget_get_height(qscroll) <= 200,
          "the queue of five runs scrolls within 200 px", detail);
    screenshot(GTK_WIDGET(win), "evaluations-running.png", 700, &colours, &luma_std);
    frames_measure();
    gboolean evaluated = wait_for(evaluations_idle, evals, 400);
    check(evaluated, "the queued evaluations ran", NULL);
    if (evaluated) check_frames("the evaluations ran");
    GListModel *runs = octiscope_evaluations_get_runs(evals);
    int finished = 0;
    for (guint i = 0; i < g_list_model_get_n_items(runs); i++) {
        g_autoptr(OctiscopeRunItem) r = g_list_model_get_item(runs, i);
        finished += g_strcmp0(octiscope_run_item_get_state(r), "done") == 0;
    }
    snprintf(detail, sizeof detail, "%d of %u runs done", finished, g_list_model_get_n_items(runs));
    check(finished == 4 && g_list_model_get_n_items(runs) == 4, "the results view lists the four finished runs", detail);
    // the runs were made in the order queued: by id, the three k-NN runs (hybrid,
    // invariant, standard), then the segmentation
    const char *want_order[4][2] = {{"knn", "hybrid"}, {"knn", "invariant"}, {"knn", "standard"}, {"seg", "hybrid"}};
    int in_order = g_list_model_get_n_items(runs) == 4;
    detail[0] = 0;
    for (guint k = 0; in_order && k < 4; k++) {
        g_autoptr(OctiscopeRunItem) r = g_list_model_get_item(runs, 3 - k); /* the newest first */
        in_order = g_str_has_prefix(octiscope_run_item_get_protocol(r), want_order[k][0]) &&
                   g_strcmp0(octiscope_run_item_get_kind(r), want_order[k][1]) == 0;
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s%lld %s %s", k ? ", " : "",
                 (long long)octiscope_run_item_get_id(r), octiscope_run_item_get_protocol(r),
                 octiscope_run_item_get_kind(r));
    }
    check(in_order, "the queued evaluations ran in the order given", detail);
    check(errors == 1, "the failed run says why (one error)", NULL);
    octiscope_evaluations_set_compare(evals, TRUE);
    settle(0.5);
    /* runs stand side by side only within one architecture, named in the table */
    check(find_label_text(GTK_WIDGET(evals), "deit3 depth 4 dim 128 patch 16") != NULL,
          "compare names the architecture the kinds share", NULL);
    screenshot(GTK_WIDGET(win), "evaluations-compare.png", 1100, &colours, &luma_std);
    octiscope_evaluations_set_compare(evals, FALSE);
    for (guint i = 0; i < g_list_model_get_n_items(runs); i++) {
        g_autoptr(OctiscopeRunItem) r = g_list_model_get_item(runs, i);
        if (g_str_has_prefix(octiscope_run_item_get_protocol(r), "seg")) octiscope_evaluations_select(evals, i);
    }
    settle(1.0);
    screenshot(GTK_WIDGET(win), "evaluations-results.png", 1100, &colours, &luma_std);
    octiscope_evaluations_refresh(evals); /* as after every finished run */
    wait_for(evaluations_idle, evals, 100);
    settle(0.5);
    const char *shown_title = find_label_text(GTK_WIDGET(evals), ": seg-capi of ");
    check(shown_title != NULL, "a reload of the runs keeps the selected run and its details",
          shown_title ? shown_title : find_label_text(GTK_WIDGET(evals), "Select a run"));
    /* the table sorted by run, ascending (it lists the newest first) */
    GtkColumnView *runs_view = GTK_COLUMN_VIEW(find_type(GTK_WIDGET(evals), "GtkColumnView"));
    GListModel *columns = runs_view ? gtk_column_view_get_columns(runs_view) : NULL;
    g_autoptr(GtkColumnViewColumn) run_column = columns ? g_list_model_get_item(columns, 0) : NULL;
    if (run_column) gtk_column_view_sort_by_column(runs_view, run_column, GTK_SORT_ASCENDING);
    settle(0.2);
    g_autofree char *csv = g_build_filename(evaldir, "runs.csv", NULL);
    g_autoptr(GError) csv_error = NULL;
    check(octiscope_evaluations_export(evals, csv, &csv_error), "the runs export as CSV", NULL);
    g_autofree char *csv_text = NULL;
    g_file_get_contents(csv, &csv_text, NULL, NULL);
    check(csv_text &&
              g_str_has_prefix(csv_text, "run,protocol,model,kind,dataset,state,metric,value,started,checkpoint,sha256\n") &&
              strstr(csv_text, "seg-capi") && strstr(csv_text, "knn-dinov2"),
          "the CSV has a header and both protocols", NULL);
    /* its rows in the table's order, each with its checkpoint and sha256 */
    g_auto(GStrv) csv_lines = csv_text ? g_strsplit(csv_text, "\n", -1) : NULL;
    int csv_rows = 0, ascending = 1, sourced = 1;
    long last_id = 0;
    for (int i = 1; csv_lines && csv_lines[i] && *csv_lines[i]; i++, csv_rows++) {
        long id = strtol(csv_lines[i], NULL, 10);
        ascending &= id > last_id;
        last_id = id;
        char *hash = strrchr(csv_lines[i], ',');
        if (hash) *hash = 0; /* the row's last two fields: the checkpoint (a file), its sha256 */
        const char *ckpt = hash ? strrchr(csv_lines[i], ',') : NULL;
        sourced &= hash && strlen(hash + 1) == 64 && ckpt && g_file_test(ckpt + 1, G_FILE_TEST_IS_REGULAR);
        if (hash) *hash = ',';
    }
    snprintf(detail, sizeof detail, "%d rows", csv_rows);
    check(csv_rows >= 2 && ascending, "the CSV follows the table's sort (by run, ascending)", detail);
    check(csv_rows >= 2 && sourced, "each row names the checkpoint and its sha256", csv_rows > 1 ? csv_lines[1] : detail);
    /* a database in a folder that does not exist: said, and the table no
     * longer shows the other database's runs (nor would Export write them) */
    close_toasts(GTK_WIDGET(win));
    g_autofree char *nofolder = g_build_filename(evaldir, "nope", "results.sqlite", NULL);
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", nofolder);
    settle(0.3);
    wait_for(evaluations_idle, evals, 100);
    settle(0.3);
    guint stale = g_list_model_get_n_items(octiscope_evaluations_get_runs(evals));
    const char *said = find_label_text(GTK_WIDGET(evals), "its folder does not exist");
    snprintf(detail, sizeof detail, "%u runs shown", stale);
    check(stale == 0 && said, "a database whose folder does not exist empties the runs table and says why", detail);
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", db);
    settle(0.3);
    wait_for(evaluations_idle, evals, 100);
    settle(0.3);
    guint back = g_list_model_get_n_items(octiscope_evaluations_get_runs(evals));
    snprintf(detail, sizeof detail, "%u runs shown", back);
    check(back == (guint)csv_rows, "and the runs come back with the database", detail);
    close_toasts(GTK_WIDGET(win));
    // the finished runs' rows dismissed one by one, as a user clicks their buttons
    int dismissed = 0;
    for (GtkWidget *b; dismissed < 10 && (b = find_button(GTK_WIDGET(evals), "Dismiss"));) {
        g_signal_emit_by_name(b, "clicked");
        settle(0.05);
        dismissed++;
    }
    snprintf(detail, sizeof detail, "%d dismissed", dismissed);
    check(dismissed == 5 && !find_button(GTK_WIDGET(evals), "Dismiss") && !octiscope_evaluations_is_busy(evals),
          "the five finished runs are dismissed one by one", detail);
    // the running run stays in the queue's view as the runs before it end
    // (the queue is built again each time, which left it at the top)
    g_setenv("OCTIC_EVAL_PAUSE_MS", "200", TRUE); /* the linear run's steps pause */
    jobs = g_ptr_array_new_with_free_func((GDestroyNotify)octiscope_eval_job_free);
    for (int i = 0; i < 4; i++) /* k-NN on features in the cache: quick */
        g_ptr_array_add(jobs, octiscope_eval_job_new(octiscope_model_entry_get_path(models[i % 3]), 0, "knn", imagenet_root,
                                                     OCTISCOPE_EVAL_KNN, 0, ks, 2));
    g_ptr_array_add(jobs, octiscope_eval_job_new(octiscope_model_entry_get_path(hybrid), 0, "linear", imagenet_root,
                                                 OCTISCOPE_EVAL_LINEAR, 0, NULL, 0));
    octiscope_evaluations_queue(evals, jobs);
    g_ptr_array_unref(jobs);
    GtkWidget *running = NULL;
    int done_rows = 0;
    for (int i = 0; i < 1200 && !(running && done_rows == 4); i++) {
        settle(0.05);
        running = find_button(GTK_WIDGET(evals), "Cancel the run");
        done_rows = 0;
        for (GtkWidget *r = gtk_widget_get_first_child(qlist); r; r = gtk_widget_get_next_sibling(r))
            done_rows += find_button(r, "Dismiss") != NULL;
    }
    settle(0.5);
    running = find_button(GTK_WIDGET(evals), "Cancel the run");
    GtkWidget *run_row = running ? gtk_widget_get_ancestor(running, GTK_TYPE_LIST_BOX_ROW) : NULL;
    graphene_rect_t in_view = GRAPHENE_RECT_INIT(0, -1, 0, 0);
    gboolean visible_row = run_row && qscroll && gtk_widget_compute_bounds(run_row, qscroll, &in_view) &&
                           in_view.origin.y >= 0 &&
                           in_view.origin.y + in_view.size.height <= gtk_widget_get_height(qscroll) + 1;
    snprintf(detail, sizeof detail, "%d finished rows, the running one at y %.0f..%.0f of %d", done_rows,
             in_view.origin.y, in_view.origin.y + in_view.size.height, qscroll ? gtk_widget_get_height(qscroll) : -1);
    check(done_rows == 4 && visible_row, "the running run's row is in the queue's view below four finished ones",
          detail);
    /* another database chosen meanwhile: the finished rows say where their runs are */
    g_autofree char *otherdb = g_build_filename(evaldir, "other.sqlite", NULL);
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", otherdb);
    settle(0.3);
    g_autofree char *in_db2 = g_strdup_printf(" in %s)", db);
    const char *said_where = find_label_text(GTK_WIDGET(evals), in_db2);
    check(said_where != NULL, "with another database chosen, a finished run's row names the one it is in",
          find_label_text(GTK_WIDGET(evals), "done: "));
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", db);
    settle(0.3);
    check(find_label_text(GTK_WIDGET(evals), in_db2) == NULL, "and no longer once that one is chosen again", NULL);
    octiscope_evaluations_cancel_all(evals);
    wait_for(evaluations_idle, evals, 100);
    g_unsetenv("OCTIC_EVAL_PAUSE_MS");
    settle(0.3);
    const char *cancelled_row = find_label_text(GTK_WIDGET(evals), "cancelled (run ");
    check(cancelled_row != NULL, "the cancelled run's row gives its number", find_label_text(GTK_WIDGET(evals), "cancelled"));
    /* the runs filtered by the checkpoint's file name, as the library knows the model */
    GtkWidget *runs_search = find_search(GTK_WIDGET(evals), "Filter models, checkpoint files and data sets");
    g_autofree char *hybrid_file = g_path_get_basename(octiscope_model_entry_get_path(hybrid));
    if (runs_search) gtk_editable_set_text(GTK_EDITABLE(runs_search), hybrid_file);
    settle(0.5);
    GListModel *by_file = octiscope_evaluations_get_runs(evals);
    int only_hybrid = g_list_model_get_n_items(by_file) > 0;
    for (guint i = 0; i < g_list_model_get_n_items(by_file); i++) {
        g_autoptr(OctiscopeRunItem) r = g_list_model_get_item(by_file, i);
        only_hybrid &= g_str_has_suffix(octiscope_run_item_get_checkpoint(r), hybrid_file);
    }
    snprintf(detail, sizeof detail, "%u runs for '%s'", g_list_model_get_n_items(by_file), hybrid_file);
    check(runs_search && only_hybrid, "the runs filter matches the checkpoint's file name", detail);
    if (runs_search) gtk_editable_set_text(GTK_EDITABLE(runs_search), "");
    settle(0.3);
    for (GtkWidget *b; (b = find_button(GTK_WIDGET(evals), "Dismiss"));) {
        g_signal_emit_by_name(b, "clicked");
        settle(0.05);
    }
    // the preferences' database path typed letter by letter changes nothing (no
    // setting, no file made for a partial name); applied, it is the setting
    GSettings *settings = octiscope_application_get_settings(app);
    OctiscopePreferences *prefs = octiscope_preferences_new(GTK_WINDOW(win), settings);
    gtk_window_present(GTK_WINDOW(prefs));
    settle(0.3);
    screenshot(GTK_WIDGET(prefs), "preferences.png", 0, &colours, &luma_std);
    GtkWidget *dbrow = find_type(GTK_WIDGET(prefs), "AdwEntryRow");
    g_autofree char *typed = g_build_filename(evaldir, "typed", "res.sqlite", NULL);
    g_autofree char *typed_dir = g_build_filename(evaldir, "typed", NULL);
    if (dbrow) {
        gtk_editable_set_text(GTK_EDITABLE(dbrow), "");
        for (size_t k = 1; k <= strlen(typed); k++) {
            g_autofree char *part = g_strndup(typed, k);
            gtk_editable_set_text(GTK_EDITABLE(dbrow), part);
            settle(0.002);
        }
        settle(0.5);
    }
    g_autofree char *while_typing = g_settings_get_string(settings, "default-database");
    check(dbrow && g_strcmp0(while_typing, db) == 0 && !g_file_test(typed_dir, G_FILE_TEST_EXISTS),
          "a database path typed in the preferences changes nothing until applied", while_typing);
    if (dbrow) g_signal_emit_by_name(dbrow, "apply");
    settle(0.5);
    g_autofree char *applied = g_settings_get_string(settings, "default-database");
    check(g_strcmp0(applied, typed) == 0 && g_strcmp0(octiscope_evaluations_get_database(evals), typed) == 0,
          "applied, it is the database the evaluations use", applied);
    gtk_window_destroy(GTK_WINDOW(prefs));
    g_settings_set_string(settings, "default-database", db);
    settle(0.3);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", evaldir);
    if (system(rm) != 0) fprintf(stderr, "# could not remove %s\n", evaldir);

    // 9. the device preference set to CUDA (last, so that no screenshot shows the
    // toast): without a usable GPU (no GPU, or a build without CUDA) a toast says
    // why and the inspector still fills, on the CPU
    close_toasts(GTK_WIDGET(win)); /* the failed evaluation's */
    char cuda_status[320];
    int cuda_usable = octiscope_device_cuda_status(cuda_status, sizeof cuda_status);
    g_settings_set_string(octiscope_application_get_settings(app), "device", "cuda");
    if (cuda_usable) {
        settle(0.5);
        check(octic_backend_is_cuda(octiscope_device_current()) && !cuda_notice_shown(win),
              "device cuda with a usable GPU: the models run on it", cuda_status);
    } else {
        gboolean shown = wait_for(cuda_notice_shown, win, 10);
        const char *toast = shown ? find_label_text(GTK_WIDGET(win), "CUDA is not available") : NULL;
        check(toast && strstr(toast, "running on the CPU") && octiscope_device_current() == octic_cpu_backend(),
              "device cuda without a usable GPU: a toast says why and the models run on the CPU",
              toast ? toast : cuda_status);
    }
    octiscope_window_show_page(win, "inspector");
    /* a model beside itself runs once: the right pane says why it is empty */
    octiscope_inspector_set_models(ins, hybrid, hybrid);
    settle(0.3);
    const char *same = find_label_text(GTK_WIDGET(octiscope_inspector_get_pane(ins, 1)), "The same model as on the left");
    check(same && !octiscope_model_pane_is_running(octiscope_inspector_get_pane(ins, 1)) &&
              !octiscope_model_pane_get_analysis(octiscope_inspector_get_pane(ins, 1)),
          "a model compared with itself runs once, and the second pane says so", same);
    octiscope_inspector_set_models(ins, invariant, hybrid);
    done = wait_for(inspector_done, ins, 300);
    check(done && octiscope_model_pane_get_analysis(octiscope_inspector_get_pane(ins, 0))->kind == OCTIC_KIND_INVARIANT,
          "with the device set to cuda the inspector fills (invariant beside hybrid)", cuda_status);

    // 9b. names are text, not markup: a data set folder named "R&D <x>" shows
    // its name in the library (before, the row's title was empty and GTK warned)
    g_autofree char *oddparent = g_dir_make_tmp("octiscope-names-XXXXXX", NULL);
    g_autofree char *odd = g_build_filename(oddparent, "R&D <x>", NULL);
    g_mkdir_with_parents(odd, 0755);
    octiscope_dataset_store_add(OCTISCOPE_DATASET_STORE(datasets), odd);
    octiscope_window_show_page(win, "library");
    settle(0.5);
    GtkWidget *oddrow = find_row(GTK_WIDGET(win), "R&D <x>");
    gboolean shown = oddrow && find_label_text(oddrow, "R&D <x>") != NULL;
    check(shown, "a data set named \"R&D <x>\" shows its name",
          shown ? NULL : oddrow ? "its row's title label is empty" : "no row with that title");
    /* a data set's trash button takes it out (the demo VOC, with the one
     * above listed after it), and the toast's Undo puts it back in its place */
        guint vocpos = 0, vocpos_back = 0;
    gboolean listed_voc = octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), voc_root, &vocpos) != NULL;
    GtkWidget *vocrow = find_row(GTK_WIDGET(win), octiscope_dataset_entry_get_title(voc));
    GtkWidget *trash = vocrow ? find_button(vocrow, "Remove from the library (the files stay)") : NULL;
    close_toasts(GTK_WIDGET(win));
    if (trash) g_signal_emit_by_name(trash, "clicked");
    settle(0.3);
    GtkWidget *undo_set = find_labelled_button(GTK_WIDGET(win), "_Undo");
    const char *removed_text = find_label_text(GTK_WIDGET(win), "Removed Demo: voc");
    check(listed_voc && trash && !octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), voc_root, NULL) &&
              undo_set && removed_text,
          "a data set's trash button takes it out, and a toast offers Undo", removed_text);
    if (undo_set) g_signal_emit_by_name(undo_set, "clicked");
    settle(0.3);
    gboolean voc_back = octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), voc_root, &vocpos_back) != NULL;
    snprintf(detail, sizeof detail, "at %u, was at %u of %u", vocpos_back, vocpos,
             g_list_model_get_n_items(G_LIST_MODEL(datasets)));
    check(voc_back && vocpos_back == vocpos && vocpos + 1 < g_list_model_get_n_items(G_LIST_MODEL(datasets)),
          "Undo puts the data set back in its place", detail);
    close_toasts(GTK_WIDGET(win));
    guint oddpos;
    if (octiscope_dataset_store_find(OCTISCOPE_DATASET_STORE(datasets), odd, &oddpos))
        octiscope_dataset_store_remove(OCTISCOPE_DATASET_STORE(datasets), oddpos);
    g_autofree char *rmodd = g_strdup_printf("rm -rf '%s'", oddparent);
    if (system(rmodd) != 0) fprintf(stderr, "# could not remove %s\n", oddparent);

    // 9c. a model file that does not load: added, it is the library's
    // selection, and Set Heads is not offered for it (its shape is unknown);
    // it is for a model that was read
    g_autofree char *badparent = g_dir_make_tmp("octiscope-badmodel-XXXXXX", NULL);
    g_autofree char *badpath = g_build_filename(badparent, "broken.pth", NULL);
    g_file_set_contents(badpath, "not a checkpoint", -1, NULL);
    g_autoptr(GFile) badfile = g_file_new_for_path(badpath);
    octiscope_window_open_file(win, badfile);
    OctiscopeLibraryPage *library = octiscope_window_get_library_page(win);
    for (int i = 0; i < 200; i++) {
        OctiscopeModelEntry *sel = octiscope_library_page_get_selected(library);
        if (sel && octiscope_model_entry_get_state(sel) != OCTISCOPE_MODEL_PROBING) break;
        settle(0.05);
    }
    OctiscopeModelEntry *sel = octiscope_library_page_get_selected(library);
    GtkWidget *heads_btn = find_button(GTK_WIDGET(library), "Give the number of attention heads of a checkpoint "
                                                           "whose architecture is not published");
    check(sel && strcmp(octiscope_model_entry_get_path(sel), badpath) == 0 &&
              octiscope_model_entry_get_state(sel) == OCTISCOPE_MODEL_FAILED,
          "a model file added is selected in the library, here one that failed to load",
          sel ? octiscope_model_entry_get_path(sel) : "nothing selected");
    check(heads_btn && !gtk_widget_is_sensitive(heads_btn), "Set Heads is not offered for a file that did not load",
          NULL);
    octiscope_library_page_select(library, hybrid);
    settle(0.1);
    check(octiscope_library_page_get_selected(library) == hybrid && heads_btn && gtk_widget_is_sensitive(heads_btn),
          "and is for a model that was read", NULL);
    /* its dialog offers Set only for a number of heads the model can take (the
     * demo hybrid: width 128, heads of a width divisible by 8, and its file
     * stores 2), saying why not */
    if (heads_btn) g_signal_emit_by_name(heads_btn, "clicked");
    settle(0.3);
    AdwMessageDialog *heads_dialog = NULL;
    GListModel *tops = gtk_window_get_toplevels();
    for (guint i = 0; i < g_list_model_get_n_items(tops) && !heads_dialog; i++) {
        g_autoptr(GObject) w = g_list_model_get_item(tops, i);
        if (ADW_IS_MESSAGE_DIALOG(w) &&
            g_strcmp0(adw_message_dialog_get_heading(ADW_MESSAGE_DIALOG(w)), "Number of Attention Heads") == 0)
            heads_dialog = ADW_MESSAGE_DIALOG(w);
    }
    GtkSpinButton *heads_spin = heads_dialog ? g_object_get_data(G_OBJECT(heads_dialog), "spin") : NULL;
    GtkLabel *heads_why = heads_dialog ? g_object_get_data(G_OBJECT(heads_dialog), "why") : NULL;
    const int tries[4] = {3, 32, 4, 2};
    const gboolean fits[4] = {FALSE, FALSE, FALSE, TRUE};
    const char *heads_said[4] = {"3 heads do not divide the width 128", "a head width of 4, which an octic model",
                                 "the file stores its number of heads, 2", ""};
    for (int i = 0; i < 4 && heads_spin; i++) {
        gtk_spin_button_set_value(heads_spin, tries[i]);
        const char *text = gtk_label_get_label(heads_why);
        snprintf(detail, sizeof detail, "%d heads: Set %s, '%s'", tries[i],
                 adw_message_dialog_get_response_enabled(heads_dialog, "set") ? "enabled" : "disabled", text);
        check(adw_message_dialog_get_response_enabled(heads_dialog, "set") == fits[i] &&
                  (fits[i] ? !*text : strstr(text, heads_said[i]) != NULL),
              "the heads dialog offers Set only for a number that fits, and says why not", detail);
    }
    check(heads_dialog && heads_spin, "Set Heads opens its dialog", NULL);
    if (heads_dialog) adw_message_dialog_response(heads_dialog, "cancel");
    settle(0.2);
    // 9d. Remove takes a model out of the library, and the toast's Undo brings it back
    // (the broken one stays listed below it meanwhile: Undo puts it back in its place)
    g_autofree char *standard_path = g_strdup(octiscope_model_entry_get_path(standard));
    guint standard_was = 0;
    octiscope_model_store_find(st, standard_path, &standard_was);
    octiscope_library_page_select(library, standard);
    settle(0.1);
    GtkWidget *remove_btn = find_button(GTK_WIDGET(library), "Remove the selected model from the library (the file stays)");
    close_toasts(GTK_WIDGET(win)); /* a toast waiting would hold the next one back */
    if (remove_btn) g_signal_emit_by_name(remove_btn, "clicked");
    settle(0.3);
    guint standard_pos;
    gboolean removed = octiscope_model_store_find(st, standard_path, &standard_pos) == NULL;
    GtkWidget *undo = find_labelled_button(GTK_WIDGET(win), "_Undo");
    snprintf(detail, sizeof detail, "button %d, removed %d, undo %d, toast '%s'", remove_btn != NULL, removed,
             undo != NULL, find_label_text(GTK_WIDGET(win), "Removed ") ? find_label_text(GTK_WIDGET(win), "Removed ") : "");
    check(remove_btn && removed && undo, "Remove takes the model out of the library, and a toast offers Undo", detail);
    if (undo) g_signal_emit_by_name(undo, "clicked");
    settle(0.3);
    gboolean restored = octiscope_model_store_find(st, standard_path, &standard_pos) != NULL;
    OctiscopeModelEntry *again = restored ? octiscope_library_page_get_selected(library) : NULL;
    for (int i = 0; i < 100 && again && octiscope_model_entry_get_state(again) == OCTISCOPE_MODEL_PROBING; i++)
        settle(0.05);
    snprintf(detail, sizeof detail, "at %u, was at %u", standard_pos, standard_was);
    check(restored && again && g_strcmp0(octiscope_model_entry_get_path(again), standard_path) == 0 &&
              octiscope_model_entry_get_state(again) == OCTISCOPE_MODEL_READY && octiscope_model_entry_get_demo(again) &&
              standard_pos == standard_was,
          "Undo puts it back as it was (a demo model, in its place) and selected", detail);
    guint badpos;
    if (octiscope_model_store_find(st, badpath, &badpos)) octiscope_model_store_remove(st, badpos);
    g_unlink(badpath);
    g_rmdir(badparent);
    close_toasts(GTK_WIDGET(win));

    // 10. the window closed while an evaluation runs: a question first; kept
    // running, nothing changes; stopped, the window hides at once, the run is
    // asked to stop, and the window goes once it is recorded as cancelled
    g_autofree char *closedir = g_dir_make_tmp("octiscope-close-XXXXXX", NULL);
    g_autofree char *closedb = g_build_filename(closedir, "results.sqlite", NULL);
    g_settings_set_string(octiscope_application_get_settings(app), "default-database", closedb);
    settle(0.3);
    g_setenv("OCTIC_EVAL_PAUSE_MS", "200", TRUE); /* each training step pauses: 12,500 of them */
    jobs = g_ptr_array_new_with_free_func((GDestroyNotify)octiscope_eval_job_free);
    g_ptr_array_add(jobs, octiscope_eval_job_new(octiscope_model_entry_get_path(hybrid), 0, "hybrid", imagenet_root,
                                                 OCTISCOPE_EVAL_LINEAR, 0, NULL, 0));
    octiscope_evaluations_queue(evals, jobs);
    g_ptr_array_unref(jobs);
    settle(0.5);
    /* the run, once recorded, is in the table as running */
    GListModel *listed = octiscope_evaluations_get_runs(evals);
    for (int i = 0; i < 100 && g_list_model_get_n_items(listed) == 0; i++) settle(0.05);
    g_autoptr(OctiscopeRunItem) in_progress = g_list_model_get_n_items(listed) ? g_list_model_get_item(listed, 0) : NULL;
    snprintf(detail, sizeof detail, "%u runs listed, the first %s", g_list_model_get_n_items(listed),
             in_progress ? octiscope_run_item_get_state(in_progress) : "-");
    check(g_list_model_get_n_items(listed) == 1 && g_strcmp0(octiscope_run_item_get_state(in_progress), "running") == 0,
          "a running run is listed as running while it runs", detail);
    GtkWidget *alive = GTK_WIDGET(win);
    g_object_add_weak_pointer(G_OBJECT(alive), (gpointer *)&alive);
    gtk_window_close(GTK_WINDOW(win)); /* its close request runs now */
    settle(0.2);
    GtkWidget *question = octiscope_window_get_close_dialog(win);
    const char *asked = question ? adw_message_dialog_get_body(ADW_MESSAGE_DIALOG(question)) : NULL;
    check(alive && gtk_widget_get_visible(alive) && question && gtk_widget_get_visible(question) && asked &&
              strstr(asked, "“Linear · hybrid · ") && strstr(asked, "recorded as cancelled"),
          "closed while an evaluation runs, the window asks whether to stop it", asked);
    if (question) {
        screenshot(question, "close-question.png", 0, &colours, &luma_std);
        adw_message_dialog_response(ADW_MESSAGE_DIALOG(question), "keep");
    }
    settle(0.3);
    check(alive && gtk_widget_get_visible(alive) && !octiscope_window_get_close_dialog(win) &&
              octiscope_evaluations_is_busy(evals),
          "Keep Running leaves the window and the run as they were", NULL);
    gtk_window_close(GTK_WINDOW(win));
    settle(0.2);
    question = octiscope_window_get_close_dialog(win);
    if (question) adw_message_dialog_response(ADW_MESSAGE_DIALOG(question), "stop"); /* the run's end comes through the main loop */
    check(question && alive && !gtk_widget_get_visible(alive) && octiscope_evaluations_is_busy(evals),
          "Stop and Quit hides the window, which waits for the run", NULL);
    for (int i = 0; i < 600 && alive; i++) settle(0.05);
    g_unsetenv("OCTIC_EVAL_PAUSE_MS");
    octic_db *cdb = NULL;
    octic_db_run_info *infos = NULL;
    int nruns = 0;
    if (octic_db_open(closedb, &cdb) == OCTIC_OK) octic_db_list_runs(cdb, NULL, &infos, &nruns);
    snprintf(detail, sizeof detail, "%d run(s), %s", nruns, nruns ? infos[0].state : "-");
    check(!alive && nruns == 1 && strcmp(infos[0].state, "cancelled") == 0,
          "then the window goes, the run recorded as cancelled", detail);
    free(infos);
    octic_db_close(cdb);
    g_autofree char *rmc = g_strdup_printf("rm -rf '%s'", closedir);
    if (system(rmc) != 0) fprintf(stderr, "# could not remove %s\n", closedir);
    if (alive) gtk_window_destroy(GTK_WINDOW(alive));
    settle(0.2);
    g_object_unref(app);
    printf("1..%d\n", tests);
    return failures ? 1 : 0;
}
