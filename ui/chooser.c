/* File choosers as the studio shows them (chooser.h). */
#include "chooser.h"

static void chooser_free(GtkNativeDialog *chooser, int response, gpointer unused) {
    (void)response, (void)unused;
    g_object_unref(chooser);
}

void octiscope_chooser_show(GtkFileChooserNative *chooser, GCallback on_response, gpointer owner) {
    gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(chooser), TRUE);
    g_signal_connect_object(chooser, "response", on_response, owner, 0);
    g_signal_connect_after(chooser, "response", G_CALLBACK(chooser_free), NULL);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(chooser));
}
