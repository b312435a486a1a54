/* Where the engine runs: the CPU backend (always there) or the CUDA one
 * (kernels/, built when nvcc is found; usable when a GPU and its driver are).
 *
 * Commands take --device auto|cpu|cuda; "auto" is the CUDA backend when it
 * was built and a usable GPU is present, else the CPU one. Asked for "cuda"
 * where it cannot run, the engine runs on the CPU and says why in a one-line
 * notice. */
#ifndef OCTIC_DEVICE_H
#define OCTIC_DEVICE_H

#include <stddef.h>

#include "backend.h"
#include "error.h"

typedef enum {
    OCTIC_FLOAT32 = 0,  /* every op in float32 (the CPU reference's precision) */
    OCTIC_BFLOAT16 = 1, /* CUDA: products and attention on bfloat16 tensor cores, float32 accumulation */
} octic_precision;

/* The backend for a device name ("auto", "cpu", "cuda"); NULL with an
 * octic_fail message for an unknown name. notice (len bytes) receives a
 * one-line notice when "cuda" was asked for and the CPU backend is returned
 * instead (no GPU, no driver, not built), else "". precision applies to the
 * CUDA backend only (the CPU backend is float32). */
const octic_backend *octic_backend_for(const char *device, octic_precision precision, char *notice, size_t len);

/* 1 when this build contains the CUDA backend. */
int octic_cuda_built(void);

/* The CUDA backend of the precision, or NULL with the reason in why (len
 * bytes): not built, no GPU, no driver. Links in every build. */
const octic_backend *octic_cuda_backend_for(octic_precision precision, char *why, size_t len);

/* 1 for a backend of kernels/ (either precision). */
int octic_backend_is_cuda(const octic_backend *be);

/* "cpu", "cuda" or "cuda (bfloat16)": for reports. */
const char *octic_backend_description(const octic_backend *be);

/* Device memory allocated through the backend (weights, arenas, the bfloat16
 * copies, cuBLAS workspaces): the most held at once since the last reset, in
 * bytes. 0 for host backends. */
size_t octic_device_peak_bytes(const octic_backend *be);
void octic_device_reset_peak(const octic_backend *be);

/* OCTIC_OK, or the first failure of a device backend's ops (they return
 * nothing): also set as octic_last_error(). Waits for the queued work. */
octic_status octic_device_status(const octic_backend *be);

/* ---- implemented by kernels/ when the CUDA backend is built: the module
 * liboctic_cuda.so, which device.c opens at the first request for CUDA ------ */

/* The CUDA backend (float32 or bfloat16 variant), or NULL with the reason in
 * err (no device, no driver, a driver too old for the kernels). */
const octic_backend *octic_cuda_backend(char *err, size_t errlen);
const octic_backend *octic_cuda_backend_bf16(char *err, size_t errlen);
int octic_cuda_owns(const octic_backend *be);
size_t octic_cuda_peak_bytes(const octic_backend *be);
void octic_cuda_reset_peak(const octic_backend *be);
/* the sticky failure and its message (msg, len bytes) */
octic_status octic_cuda_status(const octic_backend *be, char *msg, size_t len);

#endif
