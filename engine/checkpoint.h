/* Checkpoint and array files: PyTorch torch.save zips, safetensors, numpy .npy.
 *
 * None of these readers executes anything from the file: the pickle reader is
 * an interpreter over a fixed set of opcodes and a fixed set of known globals;
 * every other global becomes an opaque value that is skipped. */
#ifndef OCTIC_CHECKPOINT_H
#define OCTIC_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

/* --- PyTorch torch.save zip ---------------------------------------------
 * Reads the archive, unpickles data.pkl, finds the state dict under "model",
 * "teacher", "state_dict", "model_ema" (first found, in that order) or at the
 * top level, strips the prefixes "_orig_mod.", "module.", "backbone." (in any
 * combination), drops tensors whose names start with "dino_head.",
 * "ibot_head." or equal/start with "mask_token" (recorded in set->ignored),
 * and converts every tensor (any float32/float16/bfloat16 storage, any
 * offset/stride, shared storages) to dense float32. Non-tensor entries of the
 * state dict are skipped. */
octic_status octic_pth_load(const char *path, octic_tensor_set *out);
octic_status octic_pth_load_memory(const uint8_t *buf, size_t len, const char *name,
                                   octic_tensor_set *out);

/* --- safetensors ----------------------------------------------------------
 * Memory-mapped read: F32 tensors point into the mapping when aligned,
 * F16/BF16 are converted. __metadata__ strings go to set->meta. */
octic_status octic_safetensors_load(const char *path, octic_tensor_set *out);
octic_status octic_safetensors_load_memory(const uint8_t *buf, size_t len, const char *name,
                                           octic_tensor_set *out);
/* Writes every tensor of `set` as F32 (sorted by name) with set->meta as
 * __metadata__. Written to a temporary file and renamed, so a failure never
 * leaves a partial file at `path`. */
octic_status octic_safetensors_save(const char *path, const octic_tensor_set *set);

/* --- numpy .npy -----------------------------------------------------------
 * float32, little-endian, C order only (versions 1.0, 2.0, 3.0 headers);
 * anything else is an error saying what was found. */
typedef struct {
    int ndim;
    int64_t shape[OCTIC_MAX_DIMS];
    float *data; /* malloc'd */
} octic_array;

octic_status octic_npy_load(const char *path, octic_array *out);
octic_status octic_npy_load_memory(const uint8_t *buf, size_t len, const char *name,
                                   octic_array *out);
octic_status octic_npy_save(const char *path, const float *data, int ndim, const int64_t *shape);
void octic_array_free(octic_array *a);

/* The name a state dict entry has in the model: wrappers' prefixes
 * (_orig_mod. of torch.compile, module. of DataParallel, backbone. of
 * DINOv2's student/teacher) taken off. Both readers apply it. */
const char *octic_checkpoint_param_name(const char *name);
/* 1 for the training-only parts inference never uses (dino_head., ibot_head.,
 * mask_token): the readers list them as ignored. */
int octic_checkpoint_training_only(const char *name);

/* --- any checkpoint ---------------------------------------------------------
 * Dispatches on the file's first bytes: "PK\x03\x04" is a torch zip,
 * otherwise safetensors. */
octic_status octic_checkpoint_load(const char *path, octic_tensor_set *out);

#endif
