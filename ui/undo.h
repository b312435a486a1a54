/* The places of removed library entries kept for Undo (the model and the
 * data set stores). */
#pragma once

#include <glib.h>

/* Removed entries kept for the toasts' Undo (the older ones go). */
#define OCTISCOPE_UNDO_DEPTH 4

/* The places remembered for an undo follow the list (removed_at: guint, in
 * the order of removal). One removed at `at` (put < 0) moves those after it
 * back; the one at index `put` of the removed, put back at `at`, moves
 * forward those after it, among them those removed after it at the same
 * place (they were behind it). */
static inline void octiscope_undo_shift(GArray *removed_at, guint at, int put) {
    for (guint i = 0; i < removed_at->len; i++) {
        guint *q = &g_array_index(removed_at, guint, i);
        if (put < 0 && *q > at) (*q)--;
        if (put >= 0 && (*q > at || (*q == at && i > (guint)put))) (*q)++;
    }
}
