/* libFuzzer target: torch.save zip + pickle reader. Any input must give
 * OCTIC_OK or an error, never a crash, hang or leak; a success must hold
 * well-formed tensors. */
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    octic_tensor_set set;
    if (octic_pth_load_memory(data, size, "fuzz.pth", &set) == OCTIC_OK) {
        volatile float sink = 0;
        for (int i = 0; i < set.count; i++) {
            int64_t n = octic_numel(set.tensors[i].shape, set.tensors[i].ndim);
            if (n > 0) sink += set.tensors[i].data[0] + set.tensors[i].data[n - 1];
        }
        (void)sink;
        octic_tensor_set_free(&set);
    } else if (octic_last_error()[0] == '\0') {
        __builtin_trap(); /* every failure must say why */
    }
    return 0;
}
