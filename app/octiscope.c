/* octiscope: the Octiscope studio (GTK 4 + libadwaita). The application,
 * its windows and widgets live in ui/. */
#include "octiscope-application.h"

int main(int argc, char **argv) {
    octiscope_prepare_environment();
    g_set_application_name("Octiscope");
    OctiscopeApplication *app = octiscope_application_new(G_APPLICATION_DEFAULT_FLAGS);
    int status = g_application_run(G_APPLICATION(app), argc, argv);
    g_object_unref(app);
    return status;
}
