/* Where the studio runs its models: the device preference (GSettings key
 * "device": cpu or cuda) resolved to an engine backend (engine/device.h).
 * Asked for CUDA where it cannot run (a build without the CUDA engine, no
 * GPU, no driver), the studio runs on the CPU and says why once: the notice
 * of octiscope_device_apply is what the window shows in a toast. Plain C
 * without GTK (tests/studio tests it). */
#ifndef OCTISCOPE_STUDIO_DEVICE_H
#define OCTISCOPE_STUDIO_DEVICE_H

#include <stddef.h>

#include "device.h"

/* The backend for a preference: the CPU one for "cpu"; for "cuda" the CUDA
 * backend (float32) when this build has it and a GPU is usable, else the
 * CPU one with the reason in notice (len bytes; "" when the preference is
 * honoured). An unknown or NULL preference is the CPU, with a notice naming
 * it. Never NULL. */
const octic_backend *octiscope_device_choose(const char *preference, char *notice, size_t len);

/* octiscope_device_choose, and the result becomes the studio's device:
 * the one octiscope_device_current returns from now on (to every thread). */
const octic_backend *octiscope_device_apply(const char *preference, char *notice, size_t len);

/* The studio's device: models load onto it and evaluations run on it. The
 * CPU until octiscope_device_apply is called. */
const octic_backend *octiscope_device_current(void);

/* Whether CUDA can be used here: 1 with a line saying so, or 0 with the
 * reason and what happens instead ("no CUDA GPU found: runs on the CPU"),
 * for the preferences' device row. */
int octiscope_device_cuda_status(char *text, size_t len);

#endif
