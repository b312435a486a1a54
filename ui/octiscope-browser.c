/* The browser (see octiscope-browser.h). */
#include "octiscope-browser.h"

#include "analysis.h"
#include "image.h"
#include "octiscope-dataset-model.h"
#include "octiscope-thumbnailer.h"

#define CELL 128

struct _OctiscopeBrowser {
    AdwBin parent_instance;
    GtkDropDown *dataset_dd, *split_dd, *class_dd;
    GtkStringList *split_list, *class_list;
    GtkSearchEntry *search_entry;
    GtkLabel *count_label, *name_label, *class_label;
    GtkWidget *opacity_box, *inspect_button;
    GtkAdjustment *opacity;
    GtkStack *stack;
    AdwStatusPage *status_page;
    GtkGridView *grid;
    GtkPicture *preview;
    OctiscopeThumb preview_thumb;
    GHashTable *bound; /* cells showing an item */
    GPtrArray *spare;  /* cells of list items gone, for the next ones */
    guint warming;     /* idle source making spare cells */
    guint max_columns; /* the template's */
    guint fitting;     /* idle source fitting max-columns to the width */
    GtkFlowBox *legend;

    OctiscopeDatasetStore *store;
    OctiscopeDatasetEntry *entry; /* shown */
    OctiscopeDatasetModel *items;
    GtkSingleSelection *selection;
    OctiscopeThumbnailer *thumbs, *previews;
    GCancellable *preview_cancellable;
    gboolean updating;
};

G_DEFINE_TYPE(OctiscopeBrowser, octiscope_browser, ADW_TYPE_BIN)

enum { SIGNAL_INSPECT, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- grid cells -------------------------------------------------------------------- */

typedef struct {
    OctiscopeBrowser *browser;
    GtkListItem *li; /* showing the cell, or NULL while spare */
    GtkWidget *box;  /* a reference of the cell's own */
    GtkPicture *image;
    GtkInscription *name;
    GCancellable *cancellable;
    OctiscopeThumb thumb; /* references to the decoded pixels, for a new opacity */
    char *error;          /* why the thumbnail failed, or NULL */
} cell;

static void cell_clear_thumb(cell *c) {
    g_clear_pointer(&c->thumb.rgb, g_bytes_unref);
    g_clear_pointer(&c->thumb.labels, g_bytes_unref);
}

static void cell_free(cell *c) {
    if (c->cancellable) g_cancellable_cancel(c->cancellable);
    g_clear_object(&c->cancellable);
    cell_clear_thumb(c);
    g_free(c->error);
    g_free(c);
}

/* The tooltip (the image's path, or why it has no thumbnail) is made when
 * asked for: gtk_widget_set_tooltip_text() at each bind asks the display
 * server where the pointer is (a round trip per cell, most of a jump's time). */
static gboolean cell_query_tooltip(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, cell *c) {
    OctiscopeDatasetItem *item = c->li ? gtk_list_item_get_item(c->li) : NULL;
    if (!item) return FALSE;
    gtk_tooltip_set_text(tooltip, c->error ? c->error : octiscope_dataset_item_get_image(item));
    return TRUE;
}

/* The widgets of a cell; GTK 4.8's grid makes and drops list items by the
 * hundred when a list grows or shrinks, their cells are kept for the next. */
#define SPARE_CELLS 256

static cell *cell_new(OctiscopeBrowser *self) {
    cell *c = g_new0(cell, 1);
    c->browser = self;
    GtkWidget *box = c->box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
    gtk_widget_add_css_class(box, "browser-cell");
    c->image = GTK_PICTURE(gtk_picture_new());
    gtk_widget_set_size_request(GTK_WIDGET(c->image), CELL, CELL);
    gtk_widget_set_has_tooltip(GTK_WIDGET(c->image), TRUE);
    g_signal_connect(c->image, "query-tooltip", G_CALLBACK(cell_query_tooltip), c);
    /* an inscription's size comes from the font, not from its text: a bind
     * does not make the grid measure the name (a label there shapes every
     * name of the ~200 cells the grid keeps at each change or jump) */
    c->name = GTK_INSCRIPTION(gtk_inscription_new(NULL));
    gtk_inscription_set_text_overflow(c->name, GTK_INSCRIPTION_OVERFLOW_ELLIPSIZE_MIDDLE);
    gtk_inscription_set_xalign(c->name, 0.5f);
    gtk_inscription_set_min_chars(c->name, 1);
    gtk_inscription_set_nat_chars(c->name, 1);
    gtk_widget_add_css_class(GTK_WIDGET(c->name), "caption");
    gtk_box_append(GTK_BOX(box), GTK_WIDGET(c->image));
    gtk_box_append(GTK_BOX(box), GTK_WIDGET(c->name));
    g_object_ref_sink(box);
    return c;
}

static void cell_destroy(cell *c) {
    g_clear_object(&c->box);
    cell_free(c);
}

static void setup_cell(GtkSignalListItemFactory *f, GtkListItem *li, OctiscopeBrowser *self) {
    cell *c = self->spare->len ? g_ptr_array_steal_index_fast(self->spare, self->spare->len - 1) : cell_new(self);
    c->li = li;
    gtk_list_item_set_child(li, c->box);
    g_object_set_data_full(G_OBJECT(li), "cell", c, (GDestroyNotify)cell_destroy);
}

/* Makes the cells a grid keeps (max-columns x 30 rows in GTK 4.8) a few at a
 * time while the main loop is idle, so that showing a large list for the
 * first time does not make them all in one frame. */
static gboolean warm_cells(gpointer data) {
    OctiscopeBrowser *self = data;
    guint want = MIN(gtk_grid_view_get_max_columns(self->grid), 8) * 30;
    for (int i = 0; i < 8 && self->spare->len < MIN(want, SPARE_CELLS); i++) g_ptr_array_add(self->spare, cell_new(self));
    if (self->spare->len < MIN(want, SPARE_CELLS)) return G_SOURCE_CONTINUE;
    self->warming = 0;
    return G_SOURCE_REMOVE;
}

static void teardown_cell(GtkSignalListItemFactory *f, GtkListItem *li, OctiscopeBrowser *self) {
    cell *c = g_object_steal_data(G_OBJECT(li), "cell");
    if (!c) return;
    if (self->spare->len >= SPARE_CELLS) {
        cell_destroy(c);
        return;
    }
    if (gtk_list_item_get_child(li)) gtk_list_item_set_child(li, NULL);
    if (gtk_widget_get_parent(c->box)) gtk_widget_unparent(c->box);
    c->li = NULL;
    g_ptr_array_add(self->spare, c);
}

static void cell_show(cell *c) {
    if (!c->thumb.rgb) return;
    g_autoptr(GdkTexture) t = octiscope_thumb_texture(&c->thumb, gtk_adjustment_get_value(c->browser->opacity));
    gtk_picture_set_paintable(c->image, GDK_PAINTABLE(t));
}

static void cell_thumbnail(const OctiscopeThumb *thumb, const char *error, gpointer user) {
    cell *c = user;
    cell_clear_thumb(c);
    if (thumb) {
        c->thumb = *thumb;
        c->thumb.rgb = g_bytes_ref(thumb->rgb);
        c->thumb.labels = thumb->labels ? g_bytes_ref(thumb->labels) : NULL;
        cell_show(c);
    }
    g_free(c->error);
    c->error = g_strdup(error);
    if (!thumb && error) { /* a file that cannot be decoded: a broken-image sign (the reason in the tooltip) */
        GtkWidget *w = GTK_WIDGET(c->image);
        GtkIconPaintable *icon = gtk_icon_theme_lookup_icon(
            gtk_icon_theme_get_for_display(gtk_widget_get_display(w)), "image-missing-symbolic", NULL, 48,
            gtk_widget_get_scale_factor(w), gtk_widget_get_direction(w), 0);
        gtk_picture_set_paintable(c->image, GDK_PAINTABLE(icon));
        g_object_unref(icon);
    }
}

static void bind_cell(GtkSignalListItemFactory *f, GtkListItem *li, OctiscopeBrowser *self) {
    cell *c = g_object_get_data(G_OBJECT(li), "cell");
    OctiscopeDatasetItem *item = gtk_list_item_get_item(li);
    gtk_inscription_set_text(c->name, octiscope_dataset_item_get_name(item));
    c->cancellable = g_cancellable_new();
    g_hash_table_add(self->bound, c);
    octiscope_thumbnailer_request(self->thumbs, octiscope_dataset_item_get_image(item),
                                  octiscope_dataset_item_get_mask(item), c->cancellable, cell_thumbnail, c);
}

static void unbind_cell(GtkSignalListItemFactory *f, GtkListItem *li, OctiscopeBrowser *self) {
    cell *c = g_object_get_data(G_OBJECT(li), "cell");
    if (c->cancellable) g_cancellable_cancel(c->cancellable);
    g_clear_object(&c->cancellable);
    g_hash_table_remove(self->bound, c);
    cell_clear_thumb(c);
    g_clear_pointer(&c->error, g_free);
    gtk_picture_set_paintable(c->image, NULL);
}

/* GTK 4.8's grid keeps max-columns x 30 rows of cells, bound and laid out,
 * whatever the number of columns that fits: max-columns follows the width
 * (a column is at least CELL wide, so no column that fits is lost). */
static gboolean fit_columns(gpointer data) {
    OctiscopeBrowser *self = data;
    self->fitting = 0;
    GtkAdjustment *h = gtk_scrollable_get_hadjustment(GTK_SCROLLABLE(self->grid));
    double width = h ? gtk_adjustment_get_page_size(h) : 0;
    if (width <= 0) return G_SOURCE_REMOVE;
    guint fit = CLAMP((guint)(width / CELL), gtk_grid_view_get_min_columns(self->grid), self->max_columns);
    if (fit != gtk_grid_view_get_max_columns(self->grid)) gtk_grid_view_set_max_columns(self->grid, fit);
    return G_SOURCE_REMOVE;
}

static void on_width(GtkAdjustment *h, GParamSpec *pspec, OctiscopeBrowser *self) {
    if (!self->fitting) self->fitting = g_idle_add(fit_columns, self); /* not during the allocation */
}

/* ---- the selected item -------------------------------------------------------------- */

typedef struct {
    char *mask;
    int present[256];
} legend_job;

static void legend_job_free(legend_job *j) {
    g_free(j->mask);
    g_free(j);
}

static void legend_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    legend_job *j = data;
    octic_image m;
    if (octic_mask_load(j->mask, &m)) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", octic_last_error());
        return;
    }
    for (gsize i = 0; i < (gsize)m.width * m.height; i++) j->present[m.pixels[i]]++;
    octic_image_free(&m);
    g_task_return_boolean(task, TRUE);
}

static void legend_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    OctiscopeBrowser *self = OCTISCOPE_BROWSER(source);
    if (g_task_get_cancellable(G_TASK(res)) != self->preview_cancellable) return;
    legend_job *j = g_task_get_task_data(G_TASK(res));
    if (!g_task_propagate_boolean(G_TASK(res), NULL) || !self->entry) return;
    const octic_dataset *ds = octiscope_dataset_entry_get_dataset(self->entry);
    for (int l = 1; l < 255; l++) {
        if (!j->present[l]) continue;
        GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
        guint8 rgb[3];
        octiscope_label_rgb(rgb, l);
        /* the class name escaped: names come from the data set's own files */
        g_autofree char *markup = g_markup_printf_escaped(
            "<span foreground=\"#%02x%02x%02x\">■</span> %s", rgb[0], rgb[1], rgb[2],
            l < octic_dataset_class_count(ds) ? octic_dataset_class_name(ds, l) : "?");
        GtkWidget *label = gtk_label_new(NULL);
        gtk_label_set_markup(GTK_LABEL(label), markup);
        gtk_label_set_xalign(GTK_LABEL(label), 0);
        gtk_box_append(GTK_BOX(row), label);
        gtk_flow_box_append(self->legend, row);
    }
}

static void preview_show(OctiscopeBrowser *self) {
    if (!self->preview_thumb.rgb) return;
    g_autoptr(GdkTexture) t = octiscope_thumb_texture(&self->preview_thumb, gtk_adjustment_get_value(self->opacity));
    gtk_picture_set_paintable(self->preview, GDK_PAINTABLE(t));
}

static void preview_thumbnail(const OctiscopeThumb *thumb, const char *error, gpointer user) {
    OctiscopeBrowser *self = user;
    g_clear_pointer(&self->preview_thumb.rgb, g_bytes_unref);
    g_clear_pointer(&self->preview_thumb.labels, g_bytes_unref);
    if (thumb) {
        self->preview_thumb = *thumb;
        self->preview_thumb.rgb = g_bytes_ref(thumb->rgb);
        self->preview_thumb.labels = thumb->labels ? g_bytes_ref(thumb->labels) : NULL;
        preview_show(self);
    }
    if (error) gtk_label_set_label(self->class_label, error);
}

static void on_opacity(GtkAdjustment *adj, OctiscopeBrowser *self) {
    GHashTableIter it;
    gpointer c;
    g_hash_table_iter_init(&it, self->bound);
    while (g_hash_table_iter_next(&it, &c, NULL)) cell_show(c);
    preview_show(self);
}

static void on_selected(GtkSingleSelection *sel, GParamSpec *pspec, OctiscopeBrowser *self) {
    if (self->preview_cancellable) g_cancellable_cancel(self->preview_cancellable);
    g_clear_object(&self->preview_cancellable);
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->legend)))) gtk_flow_box_remove(self->legend, child);
    OctiscopeDatasetItem *item = gtk_single_selection_get_selected_item(sel);
    gtk_widget_set_sensitive(self->inspect_button, item != NULL);
    gtk_picture_set_paintable(self->preview, NULL);
    g_clear_pointer(&self->preview_thumb.rgb, g_bytes_unref);
    g_clear_pointer(&self->preview_thumb.labels, g_bytes_unref);
    if (!item) {
        gtk_label_set_label(self->name_label, "");
        gtk_label_set_label(self->class_label, "");
        return;
    }
    const octic_dataset *ds = octiscope_dataset_entry_get_dataset(self->entry);
    gtk_label_set_label(self->name_label, octiscope_dataset_item_get_name(item));
    int label = octiscope_dataset_item_get_label(item);
    g_autofree char *cls = label >= 0 ? g_strdup_printf("%s (%s)", octic_dataset_class_name(ds, label),
                                                        octic_dataset_class_id(ds, label))
                                      : g_strdup(octiscope_dataset_item_get_mask(item) ? "Classes in the label mask:"
                                                                                       : "No class label");
    gtk_label_set_label(self->class_label, cls);
    self->preview_cancellable = g_cancellable_new();
    octiscope_thumbnailer_request(self->previews, octiscope_dataset_item_get_image(item),
                                  octiscope_dataset_item_get_mask(item), self->preview_cancellable, preview_thumbnail,
                                  self);
    if (octiscope_dataset_item_get_mask(item)) {
        legend_job *j = g_new0(legend_job, 1);
        j->mask = g_strdup(octiscope_dataset_item_get_mask(item));
        GTask *task = g_task_new(self, self->preview_cancellable, legend_done, NULL);
        g_task_set_task_data(task, j, (GDestroyNotify)legend_job_free);
        g_task_run_in_thread(task, legend_thread);
        g_object_unref(task);
    }
}

/* ---- data set, split, filter ------------------------------------------------------------- */

static void update_count(OctiscopeBrowser *self) {
    if (!self->items) {
        gtk_label_set_label(self->count_label, "");
        return;
    }
    guint n = g_list_model_get_n_items(G_LIST_MODEL(self->items));
    gsize total = octiscope_dataset_model_get_total(self->items);
    g_autofree char *text = n == total ? g_strdup_printf("%'u images", n) : g_strdup_printf("%'u of %'zu images", n, total);
    gtk_label_set_label(self->count_label, text);
}

static void apply_filter(OctiscopeBrowser *self) {
    if (!self->items || self->updating) return;
    guint c = gtk_drop_down_get_selected(self->class_dd);
    int cls = c == GTK_INVALID_LIST_POSITION || c == 0 ? -1 : (int)c - 1;
    octiscope_dataset_model_set_filter(self->items, cls, gtk_editable_get_text(GTK_EDITABLE(self->search_entry)));
}

static void on_filtered(OctiscopeDatasetModel *items, OctiscopeBrowser *self) {
    update_count(self);
}

/* The new list is in front of the old one: at the top, the grid gives the
 * cells it has to the new items (GTK 4.8 would otherwise drop them with the
 * old items and make new ones, ~200 cells at each filter or split). */
static void on_replacing(OctiscopeDatasetModel *items, OctiscopeBrowser *self) {
    gtk_widget_activate_action(GTK_WIDGET(self->grid), "list.scroll-to-item", "u", 0u);
}

static void show_split_index(OctiscopeBrowser *self, int split) {
    if (self->items) {
        /* one list and one selection for every split: the grid keeps its cells */
        octiscope_dataset_model_set_split(self->items, self->entry, split);
    } else {
        self->items = octiscope_dataset_model_new(self->entry, split);
        g_signal_connect(self->items, "filtered", G_CALLBACK(on_filtered), self);
        g_signal_connect(self->items, "replacing", G_CALLBACK(on_replacing), self);
        self->selection = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(self->items)));
        gtk_single_selection_set_autoselect(self->selection, FALSE);
        gtk_single_selection_set_selected(self->selection, GTK_INVALID_LIST_POSITION);
        g_signal_connect(self->selection, "notify::selected-item", G_CALLBACK(on_selected), self);
        gtk_grid_view_set_model(self->grid, GTK_SELECTION_MODEL(self->selection));
    }
    gtk_single_selection_set_selected(self->selection, GTK_INVALID_LIST_POSITION);
    on_selected(self->selection, NULL, self);
    update_count(self);
    apply_filter(self);
}

static void on_split(GtkDropDown *dd, GParamSpec *pspec, OctiscopeBrowser *self) {
    guint s = gtk_drop_down_get_selected(dd);
    if (self->updating || !self->entry || s == GTK_INVALID_LIST_POSITION) return;
    show_split_index(self, (int)s);
}

static void on_class(GtkDropDown *dd, GParamSpec *pspec, OctiscopeBrowser *self) {
    apply_filter(self);
}

static void on_search(GtkSearchEntry *entry, OctiscopeBrowser *self) {
    apply_filter(self);
}

static void show_entry(OctiscopeBrowser *self);

static void on_entry_state(OctiscopeDatasetEntry *entry, GParamSpec *pspec, OctiscopeBrowser *self) {
    if (entry == self->entry) show_entry(self);
}

static void show_entry(OctiscopeBrowser *self) {
    const octic_dataset *ds = self->entry ? octiscope_dataset_entry_get_dataset(self->entry) : NULL;
    if (!ds) {
        if (self->entry && octiscope_dataset_entry_get_state(self->entry) == OCTISCOPE_DATASET_FAILED) {
            adw_status_page_set_title(self->status_page, "This data set cannot be opened");
            adw_status_page_set_description(self->status_page, octiscope_dataset_entry_get_error(self->entry));
        } else if (self->entry) {
            adw_status_page_set_title(self->status_page, "Opening the data set…");
            adw_status_page_set_description(self->status_page, octiscope_dataset_entry_get_root(self->entry));
        }
        /* nothing of the set shown before stays: its splits, count, preview and selection */
        self->updating = TRUE;
        gtk_string_list_splice(self->split_list, 0, g_list_model_get_n_items(G_LIST_MODEL(self->split_list)), NULL);
        gtk_widget_set_visible(GTK_WIDGET(self->class_dd), FALSE);
        gtk_widget_set_visible(self->opacity_box, FALSE);
        self->updating = FALSE;
        gtk_label_set_label(self->count_label, "");
        if (self->selection) gtk_single_selection_set_selected(self->selection, GTK_INVALID_LIST_POSITION);
        if (self->selection) on_selected(self->selection, NULL, self); /* the preview emptied, Inspect off */
        gtk_stack_set_visible_child_name(self->stack, "empty");
        return;
    }
    self->updating = TRUE;
    guint n = g_list_model_get_n_items(G_LIST_MODEL(self->split_list));
    const char **splits = g_new0(const char *, octic_dataset_split_count(ds) + 1);
    for (int i = 0; i < octic_dataset_split_count(ds); i++) splits[i] = octic_dataset_split_name(ds, i);
    gtk_string_list_splice(self->split_list, 0, n, splits);
    g_free(splits);
    int seg = octic_dataset_is_segmentation(ds), nc = octic_dataset_class_count(ds);
    n = g_list_model_get_n_items(G_LIST_MODEL(self->class_list));
    // one change for the whole list (1,000 ImageNet classes), not one per class
    const char **classes = g_new0(const char *, (seg ? 0 : nc) + 2);
    classes[0] = "All classes";
    for (int c = 0; !seg && c < nc; c++) classes[c + 1] = octic_dataset_class_name(ds, c);
    gtk_string_list_splice(self->class_list, 0, n, classes);
    g_free(classes);
    gtk_drop_down_set_selected(self->class_dd, 0);
    gtk_widget_set_visible(GTK_WIDGET(self->class_dd), !seg && nc > 0);
    gtk_widget_set_visible(self->opacity_box, seg);
    gtk_editable_set_text(GTK_EDITABLE(self->search_entry), "");
    int split = octic_dataset_find_split(ds, "val");
    if (split < 0) split = octic_dataset_find_split(ds, "validation");
    if (split < 0) split = 0;
    gtk_drop_down_set_selected(self->split_dd, (guint)split);
    self->updating = FALSE;
    gtk_stack_set_visible_child_name(self->stack, "grid");
    show_split_index(self, split);
}

void octiscope_browser_show_dataset(OctiscopeBrowser *self, OctiscopeDatasetEntry *entry) {
    g_return_if_fail(OCTISCOPE_IS_BROWSER(self));
    if (self->entry) g_signal_handlers_disconnect_by_func(self->entry, on_entry_state, self);
    g_set_object(&self->entry, entry);
    if (entry) g_signal_connect(entry, "notify::state", G_CALLBACK(on_entry_state), self);
    guint pos;
    if (entry && self->store && octiscope_dataset_store_find(self->store, octiscope_dataset_entry_get_root(entry), &pos) &&
        gtk_drop_down_get_selected(self->dataset_dd) != pos) {
        self->updating = TRUE;
        gtk_drop_down_set_selected(self->dataset_dd, pos);
        self->updating = FALSE;
    }
    show_entry(self);
}

static void on_dataset(GtkDropDown *dd, GParamSpec *pspec, OctiscopeBrowser *self) {
    if (self->updating) return;
    gpointer item = gtk_drop_down_get_selected_item(dd);
    octiscope_browser_show_dataset(self, item ? OCTISCOPE_DATASET_ENTRY(item) : NULL);
}

void octiscope_browser_set_store(OctiscopeBrowser *self, OctiscopeDatasetStore *store) {
    g_return_if_fail(OCTISCOPE_IS_BROWSER(self));
    g_set_object(&self->store, store);
    gtk_drop_down_set_model(self->dataset_dd, G_LIST_MODEL(store));
}

gboolean octiscope_browser_show_split(OctiscopeBrowser *self, const char *split) {
    g_return_val_if_fail(OCTISCOPE_IS_BROWSER(self), FALSE);
    const octic_dataset *ds = self->entry ? octiscope_dataset_entry_get_dataset(self->entry) : NULL;
    int s = ds ? octic_dataset_find_split(ds, split) : -1;
    if (s < 0) return FALSE;
    gtk_drop_down_set_selected(self->split_dd, (guint)s);
    return TRUE;
}

GListModel *octiscope_browser_get_items(OctiscopeBrowser *self) {
    return self->items ? G_LIST_MODEL(self->items) : NULL;
}

void octiscope_browser_set_filter(OctiscopeBrowser *self, int cls, const char *search) {
    g_return_if_fail(OCTISCOPE_IS_BROWSER(self));
    self->updating = TRUE;
    gtk_drop_down_set_selected(self->class_dd, cls < 0 ? 0 : (guint)cls + 1);
    gtk_editable_set_text(GTK_EDITABLE(self->search_entry), search ? search : "");
    self->updating = FALSE;
    apply_filter(self);
}

void octiscope_browser_select(OctiscopeBrowser *self, guint position) {
    g_return_if_fail(OCTISCOPE_IS_BROWSER(self));
    if (self->selection) gtk_single_selection_set_selected(self->selection, position);
}

const char *octiscope_browser_get_selected_path(OctiscopeBrowser *self) {
    g_return_val_if_fail(OCTISCOPE_IS_BROWSER(self), NULL);
    OctiscopeDatasetItem *item = self->selection ? gtk_single_selection_get_selected_item(self->selection) : NULL;
    return item ? octiscope_dataset_item_get_image(item) : NULL;
}

void octiscope_browser_inspect_selected(OctiscopeBrowser *self) {
    g_return_if_fail(OCTISCOPE_IS_BROWSER(self));
    const char *path = octiscope_browser_get_selected_path(self);
    if (path) g_signal_emit(self, signals[SIGNAL_INSPECT], 0, path);
}

guint octiscope_browser_get_thumbnails_cached(OctiscopeBrowser *self) {
    return octiscope_thumbnailer_cached(self->thumbs);
}

gboolean octiscope_browser_is_busy(OctiscopeBrowser *self) {
    return self->items && octiscope_dataset_model_is_filtering(self->items);
}

GtkAdjustment *octiscope_browser_get_opacity(OctiscopeBrowser *self) {
    return self->opacity;
}

static void on_activate(GtkGridView *grid, guint position, OctiscopeBrowser *self) {
    octiscope_browser_select(self, position);
    octiscope_browser_inspect_selected(self);
}

static void on_inspect_clicked(GtkButton *button, OctiscopeBrowser *self) {
    octiscope_browser_inspect_selected(self);
}

/* ---- class ----------------------------------------------------------------------------------- */

static void finalize(GObject *object) {
    g_hash_table_unref(OCTISCOPE_BROWSER(object)->bound);
    g_ptr_array_unref(OCTISCOPE_BROWSER(object)->spare);
    G_OBJECT_CLASS(octiscope_browser_parent_class)->finalize(object);
}

static void dispose(GObject *object) {
    OctiscopeBrowser *self = OCTISCOPE_BROWSER(object);
    g_clear_handle_id(&self->warming, g_source_remove);
    g_clear_handle_id(&self->fitting, g_source_remove);
    if (self->preview_cancellable) g_cancellable_cancel(self->preview_cancellable);
    g_clear_object(&self->preview_cancellable);
    if (self->entry) g_signal_handlers_disconnect_by_func(self->entry, on_entry_state, self);
    if (self->selection) g_signal_handlers_disconnect_by_func(self->selection, on_selected, self);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_BROWSER);
    g_clear_object(&self->selection);
    g_clear_object(&self->items);
    g_clear_object(&self->entry);
    g_clear_object(&self->store);
    g_clear_object(&self->thumbs);
    g_clear_object(&self->previews);
    g_clear_pointer(&self->preview_thumb.rgb, g_bytes_unref);
    g_clear_pointer(&self->preview_thumb.labels, g_bytes_unref);
    G_OBJECT_CLASS(octiscope_browser_parent_class)->dispose(object);
}

static void octiscope_browser_class_init(OctiscopeBrowserClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    G_OBJECT_CLASS(klass)->finalize = finalize;
    g_type_ensure(OCTISCOPE_TYPE_DATASET_ENTRY);
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-browser.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, OctiscopeBrowser, name)
    CHILD(dataset_dd);
    CHILD(split_dd);
    CHILD(class_dd);
    CHILD(split_list);
    CHILD(class_list);
    CHILD(search_entry);
    CHILD(count_label);
    CHILD(name_label);
    CHILD(class_label);
    CHILD(opacity_box);
    CHILD(inspect_button);
    CHILD(opacity);
    CHILD(stack);
    CHILD(status_page);
    CHILD(grid);
    CHILD(preview);
    CHILD(legend);
#undef CHILD
    signals[SIGNAL_INSPECT] = g_signal_new("inspect", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void octiscope_browser_init(OctiscopeBrowser *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
    self->thumbs = octiscope_thumbnailer_new(CELL, 4096);
    self->previews = octiscope_thumbnailer_new(480, 32);
    GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
    g_signal_connect(factory, "setup", G_CALLBACK(setup_cell), self);
    g_signal_connect(factory, "bind", G_CALLBACK(bind_cell), self);
    g_signal_connect(factory, "unbind", G_CALLBACK(unbind_cell), self);
    g_signal_connect(factory, "teardown", G_CALLBACK(teardown_cell), self);
    gtk_grid_view_set_factory(self->grid, factory);
    g_object_unref(factory);
    self->bound = g_hash_table_new(NULL, NULL);
    self->spare = g_ptr_array_new_with_free_func((GDestroyNotify)cell_destroy);
    self->warming = g_idle_add_full(G_PRIORITY_LOW, warm_cells, self, NULL);
    self->max_columns = gtk_grid_view_get_max_columns(self->grid);
    GtkAdjustment *h = gtk_scrollable_get_hadjustment(GTK_SCROLLABLE(self->grid));
    if (h) g_signal_connect_object(h, "notify::page-size", G_CALLBACK(on_width), self, 0);
    g_signal_connect(self->opacity, "value-changed", G_CALLBACK(on_opacity), self);
    g_signal_connect(self->dataset_dd, "notify::selected", G_CALLBACK(on_dataset), self);
    g_signal_connect(self->split_dd, "notify::selected", G_CALLBACK(on_split), self);
    g_signal_connect(self->class_dd, "notify::selected", G_CALLBACK(on_class), self);
    g_signal_connect(self->search_entry, "search-changed", G_CALLBACK(on_search), self);
    g_signal_connect(self->grid, "activate", G_CALLBACK(on_activate), self);
    g_signal_connect(self->inspect_button, "clicked", G_CALLBACK(on_inspect_clicked), self);
}
