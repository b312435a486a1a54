/* How the studio's background work shares the machine with the window: at
 * most every core but one for the engine, the BLAS and the loaders, and
 * worker threads at a lower priority, so that the main loop always finds a
 * core to draw the next frame on (issue 5: no frame over 100 ms while
 * models load, run or evaluate). Plain C without GTK. */
#ifndef OCTISCOPE_BACKGROUND_H
#define OCTISCOPE_BACKGROUND_H

/* The nice value of the studio's worker threads. */
#define OCTISCOPE_WORKER_NICE 10

/* Threads for background work: `requested` when it is positive (the
 * preference), else every core but one, at least one. `cores` <= 0 reads
 * the number of online processors. */
int octiscope_background_threads(int requested, int cores);

/* Applies octiscope_background_threads(requested, 0) to the CPU engine and
 * its BLAS (octic_cpu_set_threads, global to every thread); returns it. */
int octiscope_background_apply(int requested);

/* Lowers the calling thread's priority to OCTISCOPE_WORKER_NICE (Linux:
 * nice is per thread, and threads it starts from now on inherit it: the
 * OpenMP team, the image loaders, the k-NN selection), and blocks the
 * asynchronous signals in it (inherited the same way), so that no signal
 * handler runs on a thread of the engine. Returns the thread's nice value
 * afterwards. Call it at the start of every background job. */
int octiscope_background_lower_priority(void);

#endif
