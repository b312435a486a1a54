/* libFuzzer target: the structured/string .npy reader of datasets/
 * (npy_records.c): header parsing, then every field of the first records
 * read back as the ImageNet reader reads them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy of exactly `size` bytes, so ASan sees any overread. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    octic_npyrec r;
    if (octic_npyrec_parse(buf, size, "fuzz.npy", &r) == OCTIC_OK) {
        size_t n = r.count < 256 ? r.count : 256;
        volatile uint64_t sink = 0;
        for (size_t i = 0; i < n; i++)
            for (int f = 0; f < r.nfields; f++) {
                if (r.fields[f].kind == 'U') {
                    size_t cap = 4 * (size_t)r.fields[f].size + 1;
                    char *s = malloc(cap);
                    if (s && octic_npyrec_string(&r, i, f, s, cap) == OCTIC_OK) sink += strlen(s);
                    else if (s && octic_last_error()[0] == '\0') __builtin_trap();
                    free(s);
                } else {
                    sink += octic_npyrec_uint(&r, i, f);
                }
            }
        (void)sink;
    } else if (octic_last_error()[0] == '\0') {
        __builtin_trap();
    }
    free(buf);
    return 0;
}
