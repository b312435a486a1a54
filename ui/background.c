/* Background work beside the window (see background.h). */
#include "background.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "backend.h"

int octiscope_background_threads(int requested, int cores) {
    if (requested > 0) return requested;
    if (cores <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cores = n > 0 ? (int)n : 1;
    }
    return cores > 1 ? cores - 1 : 1;
}

int octiscope_background_apply(int requested) {
    return octic_cpu_set_threads(octiscope_background_threads(requested, 0));
}

int octiscope_background_lower_priority(void) {
    /* No signal handler may run here: oneDNN 2.x's JIT sgemm points the
     * stack pointer into a heap buffer while it runs (oneDNN issue 4845),
     * so a handler's frame would corrupt the heap. The job's thread, and the
     * engine's threads it starts, leave the asynchronous signals (GLib's
     * SIGCHLD, a profiler's SIGPROF...) to the other threads; faults stay. */
    sigset_t async;
    sigfillset(&async);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(&async, faults[i]);
    pthread_sigmask(SIG_BLOCK, &async, NULL);
#ifdef __linux__
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int now = getpriority(PRIO_PROCESS, tid);
    if (errno == 0 && now < OCTISCOPE_WORKER_NICE) setpriority(PRIO_PROCESS, tid, OCTISCOPE_WORKER_NICE);
    errno = 0;
    now = getpriority(PRIO_PROCESS, tid);
    return errno ? 0 : now;
#else
    return 0;
#endif
}
