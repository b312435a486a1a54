/* libFuzzer target: .npy header parser and reader. */
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    octic_array a;
    if (octic_npy_load_memory(data, size, "fuzz.npy", &a) == OCTIC_OK) {
        int64_t n = octic_numel(a.shape, a.ndim);
        volatile float sink = n > 0 ? a.data[0] + a.data[n - 1] : 0;
        (void)sink;
        octic_array_free(&a);
    } else if (octic_last_error()[0] == '\0') {
        __builtin_trap();
    }
    return 0;
}
