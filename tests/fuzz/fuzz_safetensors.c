/* libFuzzer target: safetensors header parser and reader. */
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    octic_tensor_set set;
    if (octic_safetensors_load_memory(data, size, "fuzz.safetensors", &set) == OCTIC_OK) {
        volatile float sink = 0;
        for (int i = 0; i < set.count; i++) {
            int64_t n = octic_numel(set.tensors[i].shape, set.tensors[i].ndim);
            if (n > 0) sink += set.tensors[i].data[0] + set.tensors[i].data[n - 1];
        }
        for (int i = 0; i < set.n_meta; i++) sink += (float)strlen(set.meta[i].value);
        (void)sink;
        octic_tensor_set_free(&set);
    } else if (octic_last_error()[0] == '\0') {
        __builtin_trap();
    }
    return 0;
}
