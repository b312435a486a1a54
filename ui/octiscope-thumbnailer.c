/* Thumbnails for the browser (see octiscope-thumbnailer.h). */
#include "octiscope-thumbnailer.h"

#include "background.h"
#include "analysis.h"
#include "image.h"

static void cached_free(OctiscopeThumb *c) {
    g_bytes_unref(c->rgb);
    if (c->labels) g_bytes_unref(c->labels);
    g_free(c);
}

/* Requests wait in one queue that a few workers drain (a request costs a
 * lock, not a task and a thread wake-up: a grid binds ~200 cells at once);
 * finished ones are handed to the main loop in batches, a few milliseconds
 * of callbacks at a time. */
struct _OctiscopeThumbnailer {
    GObject parent_instance;
    int max_side;
    guint capacity;
    GHashTable *cache; /* image path -> OctiscopeThumb */
    GQueue order;      /* image paths, most recent last (owned by the table's keys) */
    GMutex lock;       /* guards the three below */
    GQueue waiting;    /* jobs not started, oldest first */
    GQueue finished;   /* jobs done, for the main loop */
    guint workers;     /* running */
    guint max_workers;
    gboolean delivering; /* an idle callback will take the finished jobs */
};

G_DEFINE_TYPE(OctiscopeThumbnailer, octiscope_thumbnailer, G_TYPE_OBJECT)

static void job_free(gpointer j);

static void finalize(GObject *object) {
    OctiscopeThumbnailer *self = OCTISCOPE_THUMBNAILER(object);
    g_queue_clear(&self->order);
    g_hash_table_unref(self->cache);
    g_queue_clear_full(&self->waiting, job_free); /* none: workers hold a reference */
    g_queue_clear_full(&self->finished, job_free);
    g_mutex_clear(&self->lock);
    G_OBJECT_CLASS(octiscope_thumbnailer_parent_class)->finalize(object);
}

static void octiscope_thumbnailer_class_init(OctiscopeThumbnailerClass *klass) {
    G_OBJECT_CLASS(klass)->finalize = finalize;
}

static void octiscope_thumbnailer_init(OctiscopeThumbnailer *self) {
    self->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)cached_free);
    g_queue_init(&self->order);
    g_mutex_init(&self->lock);
    self->max_workers = (guint)octiscope_background_threads(0, 0);
}

OctiscopeThumbnailer *octiscope_thumbnailer_new(int max_side, guint capacity) {
    OctiscopeThumbnailer *self = g_object_new(OCTISCOPE_TYPE_THUMBNAILER, NULL);
    self->max_side = max_side;
    self->capacity = MAX(capacity, 16);
    return self;
}

guint octiscope_thumbnailer_cached(OctiscopeThumbnailer *self) {
    return g_hash_table_size(self->cache);
}

GdkTexture *octiscope_thumb_texture(const OctiscopeThumb *t, double opacity) {
    const guint8 *rgb = g_bytes_get_data(t->rgb, NULL);
    g_autoptr(GBytes) shown = NULL;
    if (t->labels && opacity > 0) {
        guint8 *out = g_malloc((gsize)t->w * t->h * 3);
        octiscope_blend_labels(out, rgb, g_bytes_get_data(t->labels, NULL), t->w, t->h, (float)opacity);
        shown = g_bytes_new_take(out, (gsize)t->w * t->h * 3);
    } else {
        shown = g_bytes_ref(t->rgb);
    }
    return gdk_memory_texture_new(t->w, t->h, GDK_MEMORY_R8G8B8, shown, (gsize)t->w * 3);
}

/* ---- work ------------------------------------------------------------------------ */

typedef struct {
    char *image, *mask;
    int max_side;
    OctiscopeThumbnailFn fn;
    gpointer user;
    GCancellable *cancellable; /* or NULL */
    /* results */
    gboolean skipped; /* cancelled before its turn */
    octic_image thumb;
    guint8 *labels; /* thumb.width x thumb.height, or NULL */
    char *error;
} job;

static void job_free(gpointer data) {
    job *j = data;
    g_free(j->image), g_free(j->mask), g_free(j->error), g_free(j->labels);
    g_clear_object(&j->cancellable);
    octic_image_free(&j->thumb);
    g_free(j);
}

static gboolean cancelled(const job *j) {
    return j->cancellable && g_cancellable_is_cancelled(j->cancellable);
}

static void decode(job *j) {
    if (cancelled(j)) { /* scrolled away before its turn */
        j->skipped = TRUE;
        return;
    }
    if (octic_image_thumbnail(j->image, j->max_side, &j->thumb)) {
        j->error = g_strdup(octic_last_error());
    } else if (j->mask) {
        octic_image m;
        if (!octic_mask_load(j->mask, &m)) {
            int w = j->thumb.width, h = j->thumb.height;
            j->labels = g_malloc((gsize)w * h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    j->labels[(gsize)y * w + x] = m.pixels[(gsize)(y * m.height / h) * m.width + x * m.width / w];
            octic_image_free(&m);
        }
    }
}

static const OctiscopeThumb *remember(OctiscopeThumbnailer *self, const char *path, job *j) {
    OctiscopeThumb *c = g_hash_table_lookup(self->cache, path);
    if (c) return c;
    c = g_new0(OctiscopeThumb, 1);
    c->w = j->thumb.width, c->h = j->thumb.height;
    c->rgb = g_bytes_new(j->thumb.pixels, (gsize)c->w * c->h * 3);
    if (j->labels) c->labels = g_bytes_new_take(g_steal_pointer(&j->labels), (gsize)c->w * c->h);
    char *key = g_strdup(path);
    g_hash_table_insert(self->cache, key, c);
    g_queue_push_tail(&self->order, key);
    while (g_queue_get_length(&self->order) > self->capacity) {
        char *old = g_queue_pop_head(&self->order);
        if (old == key) { /* never evict what is being delivered */
            g_queue_push_tail(&self->order, old);
            break;
        }
        g_hash_table_remove(self->cache, old);
    }
    return c;
}

/* Main loop: the finished jobs' callbacks, for at most a few milliseconds
 * (then the next frame may come first). */
static gboolean deliver(gpointer data) {
    OctiscopeThumbnailer *self = data;
    gint64 end = g_get_monotonic_time() + 4000;
    for (;;) {
        g_mutex_lock(&self->lock);
        job *j = g_queue_pop_head(&self->finished);
        if (!j) self->delivering = FALSE;
        g_mutex_unlock(&self->lock);
        if (!j) return G_SOURCE_REMOVE;
        if (!j->skipped) {
            const OctiscopeThumb *t = j->error ? NULL : remember(self, j->image, j);
            if (!cancelled(j)) j->fn(t, j->error, j->user);
        }
        job_free(j);
        if (g_get_monotonic_time() > end) return G_SOURCE_CONTINUE;
    }
}

static void worker_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    octiscope_background_lower_priority(); /* a pool thread of background work only */
    OctiscopeThumbnailer *self = OCTISCOPE_THUMBNAILER(source);
    for (;;) {
        g_mutex_lock(&self->lock);
        job *j = g_queue_pop_head(&self->waiting);
        if (!j) self->workers--;
        g_mutex_unlock(&self->lock);
        if (!j) break;
        decode(j);
        g_mutex_lock(&self->lock);
        g_queue_push_tail(&self->finished, j);
        gboolean wake = !self->delivering;
        self->delivering = TRUE;
        g_mutex_unlock(&self->lock);
        if (wake) g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, deliver, g_object_ref(self), g_object_unref);
    }
    g_task_return_boolean(task, TRUE);
}

void octiscope_thumbnailer_request(OctiscopeThumbnailer *self, const char *image, const char *mask,
                                   GCancellable *cancellable, OctiscopeThumbnailFn fn, gpointer user) {
    g_return_if_fail(OCTISCOPE_IS_THUMBNAILER(self));
    const OctiscopeThumb *c = g_hash_table_lookup(self->cache, image);
    if (c) {
        fn(c, NULL, user);
        return;
    }
    job *j = g_new0(job, 1);
    j->image = g_strdup(image);
    j->mask = g_strdup(mask);
    j->max_side = self->max_side;
    j->fn = fn;
    j->user = user;
    j->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
    g_mutex_lock(&self->lock);
    g_queue_push_tail(&self->waiting, j);
    gboolean start = self->workers < self->max_workers;
    if (start) self->workers++;
    g_mutex_unlock(&self->lock);
    if (start) {
        GTask *task = g_task_new(self, NULL, NULL, NULL); /* holds the thumbnailer while it works */
        g_task_run_in_thread(task, worker_thread);
        g_object_unref(task);
    }
}
