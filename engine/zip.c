/* Zip reader for torch.save archives (see zip.h).
 *
 * Layout reminder (APPNOTE.TXT): local headers + data ..., central
 * directory, [ZIP64 end-of-central-directory record, ZIP64 locator],
 * end-of-central-directory record (EOCD, possibly followed by a comment).
 * Every offset and length read from the file is checked against the buffer
 * before it is used. */
#include "zip.h"

#include <stdlib.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define EOCD_SIZE 22
#define LOCATOR64_SIZE 20
#define EOCD64_SIZE 56
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

/* True when [off, off+n) lies inside the buffer (no overflow). */
static int in_bounds(const octic_zip *z, uint64_t off, uint64_t n) {
    return off <= z->len && n <= z->len - off;
}

/* The EOCD is the last 22 bytes unless there is a comment (up to 64 KiB);
 * scan backwards for its signature with a comment length that fits. */
static octic_status find_eocd(const octic_zip *z, size_t *out) {
    if (z->len < EOCD_SIZE)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: not a zip archive: %zu bytes, too short for the end of central "
                          "directory record",
                          z->name, z->len);
    size_t lowest = z->len > EOCD_SIZE + 0xffff ? z->len - EOCD_SIZE - 0xffff : 0;
    for (size_t pos = z->len - EOCD_SIZE + 1; pos-- > lowest;) {
        const uint8_t *p = z->buf + pos;
        if (rd32(p) == SIG_EOCD && pos + EOCD_SIZE + rd16(p + 20) == z->len) {
            *out = pos;
            return OCTIC_OK;
        }
    }
    return octic_fail(OCTIC_ERR_FORMAT,
                      "%s: not a zip archive or truncated: no end of central directory record "
                      "found in the last %zu bytes",
                      z->name, z->len - lowest);
}

typedef struct {
    uint64_t count, cd_size, cd_offset;
} cd_info;

/* Reads the ZIP64 record through its locator, which sits right before the
 * EOCD. Fields of the classic EOCD that are saturated (0xFFFF/0xFFFFFFFF)
 * are taken from it. */
static octic_status read_zip64_eocd(const octic_zip *z, size_t eocd, cd_info *cd) {
    if (eocd < LOCATOR64_SIZE || rd32(z->buf + eocd - LOCATOR64_SIZE) != SIG_LOCATOR64) {
        /* Saturated fields without ZIP64 are legal when the values really
         * are that large; we cannot tell, so take them as they are. */
        return OCTIC_OK;
    }
    const uint8_t *loc = z->buf + eocd - LOCATOR64_SIZE;
    uint64_t rec = rd64(loc + 8);
    if (!in_bounds(z, rec, EOCD64_SIZE) || rd32(z->buf + rec) != SIG_EOCD64)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip: ZIP64 locator points at offset %llu, where there is "
                          "no ZIP64 end of central directory record",
                          z->name, (unsigned long long)rec);
    const uint8_t *r = z->buf + rec;
    cd->count = rd64(r + 32);
    cd->cd_size = rd64(r + 40);
    cd->cd_offset = rd64(r + 48);
    return OCTIC_OK;
}

/* The ZIP64 extra field (id 1) holds, in this order and only when the
 * matching 32-bit field is saturated: size, compressed size, local header
 * offset. */
static octic_status apply_zip64_extra(const octic_zip *z, const uint8_t *extra, size_t n,
                                      octic_zip_entry *e, int has_offset) {
    size_t pos = 0;
    while (n - pos >= 4) {
        uint16_t id = rd16(extra + pos), sz = rd16(extra + pos + 2);
        pos += 4;
        if (sz > n - pos) break; /* tolerate a ragged tail, like zipfile does */
        if (id == 1) {
            const uint8_t *f = extra + pos;
            size_t left = sz;
            uint64_t *fields[3] = {&e->size, &e->csize, has_offset ? &e->local_offset : NULL};
            for (int i = 0; i < 3; i++) {
                if (!fields[i] || *fields[i] != 0xffffffffu) continue;
                if (left < 8)
                    return octic_fail(OCTIC_ERR_FORMAT,
                                      "%s: corrupt zip: entry '%s': ZIP64 extra field is %u "
                                      "bytes, too short for the saturated sizes/offset",
                                      z->name, e->name, (unsigned)sz);
                *fields[i] = rd64(f);
                f += 8;
                left -= 8;
            }
            return OCTIC_OK;
        }
        pos += sz;
    }
    return OCTIC_OK;
}

static octic_status read_central_entry(const octic_zip *z, uint64_t *pos, uint64_t cd_end,
                                       octic_zip_entry *e, size_t index) {
    if (!in_bounds(z, *pos, CENTRAL_SIZE) || *pos + CENTRAL_SIZE > cd_end ||
        rd32(z->buf + *pos) != SIG_CENTRAL)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip central directory: expected entry %zu header at "
                          "offset %llu, found %s",
                          z->name, index, (unsigned long long)*pos,
                          in_bounds(z, *pos, 4) ? "other bytes" : "end of file");
    const uint8_t *h = z->buf + *pos;
    size_t name_len = rd16(h + 28), extra_len = rd16(h + 30), comment_len = rd16(h + 32);
    uint64_t total = CENTRAL_SIZE + name_len + extra_len + comment_len;
    if (!in_bounds(z, *pos, total) || *pos + total > cd_end)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip central directory: entry %zu at offset %llu runs "
                          "past the directory",
                          z->name, index, (unsigned long long)*pos);
    e->method = rd16(h + 10);
    e->csize = rd32(h + 20);
    e->size = rd32(h + 24);
    e->local_offset = rd32(h + 42);
    e->name = malloc(name_len + 1);
    if (!e->name) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", z->name);
    memcpy(e->name, h + CENTRAL_SIZE, name_len);
    e->name[name_len] = '\0';
    if (memchr(e->name, '\0', name_len))
        return octic_fail(OCTIC_ERR_FORMAT, "%s: corrupt zip: entry %zu name contains a NUL byte",
                          z->name, index);
    octic_status st = apply_zip64_extra(z, h + CENTRAL_SIZE + name_len, extra_len, e, 1);
    if (st) return st;
    *pos += total;
    return OCTIC_OK;
}

/* A checkpoint has one entry per storage and every tensor looks its storage
 * up by name: sort once so that lookups are O(log n), not O(n). */
static int cmp_entry(const void *a, const void *b) {
    const octic_zip_entry *x = *(octic_zip_entry *const *)a, *y = *(octic_zip_entry *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x > y) - (x < y); /* same array: ties in directory order */
}

static octic_status index_names(octic_zip *z) {
    z->by_name = malloc((z->count ? z->count : 1) * sizeof *z->by_name);
    if (!z->by_name) {
        octic_zip_close(z);
        return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", z->name);
    }
    for (size_t i = 0; i < z->count; i++) z->by_name[i] = &z->entries[i];
    qsort(z->by_name, z->count, sizeof *z->by_name, cmp_entry);
    return OCTIC_OK;
}

octic_status octic_zip_open(octic_zip *z, const uint8_t *buf, size_t len, const char *name) {
    memset(z, 0, sizeof *z);
    z->buf = buf;
    z->len = len;
    z->name = name;
    size_t eocd = 0;
    octic_status st = find_eocd(z, &eocd);
    if (st) return st;
    const uint8_t *p = z->buf + eocd;
    cd_info cd = {rd16(p + 10), rd32(p + 12), rd32(p + 16)};
    if (cd.count == 0xffff || cd.cd_size == 0xffffffffu || cd.cd_offset == 0xffffffffu) {
        st = read_zip64_eocd(z, eocd, &cd);
        if (st) return st;
    }
    if (!in_bounds(z, cd.cd_offset, cd.cd_size))
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip or truncated: central directory at offset %llu, "
                          "%llu bytes, but the file has %zu bytes",
                          z->name, (unsigned long long)cd.cd_offset,
                          (unsigned long long)cd.cd_size, z->len);
    /* Each entry needs at least 46 bytes: bounds the allocation below. */
    if (cd.count > cd.cd_size / CENTRAL_SIZE)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip central directory: %llu entries cannot fit in %llu "
                          "bytes",
                          z->name, (unsigned long long)cd.count, (unsigned long long)cd.cd_size);
    z->entries = calloc(cd.count ? cd.count : 1, sizeof *z->entries);
    if (!z->entries) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", z->name);
    uint64_t pos = cd.cd_offset, cd_end = cd.cd_offset + cd.cd_size;
    for (uint64_t i = 0; i < cd.count; i++) {
        z->count = i + 1; /* so close() frees the partly read entry too */
        st = read_central_entry(z, &pos, cd_end, &z->entries[i], (size_t)i);
        if (st) {
            octic_zip_close(z);
            return st;
        }
    }
    return index_names(z);
}

void octic_zip_close(octic_zip *z) {
    if (!z) return;
    for (size_t i = 0; i < z->count; i++) free(z->entries[i].name);
    free(z->entries);
    free(z->by_name);
    z->entries = NULL;
    z->by_name = NULL;
    z->count = 0;
}

const octic_zip_entry *octic_zip_find(const octic_zip *z, const char *entry_name) {
    size_t lo = 0, hi = z->count; /* first index whose name is >= entry_name */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(z->by_name[mid]->name, entry_name) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < z->count && strcmp(z->by_name[lo]->name, entry_name) == 0) return z->by_name[lo];
    return NULL;
}

octic_status octic_zip_data(const octic_zip *z, const octic_zip_entry *e, const uint8_t **data,
                            uint64_t *size) {
    if (e->method != 0)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: zip entry '%s' uses compression method %d: only stored "
                          "(uncompressed, method 0) entries are supported, as torch.save writes "
                          "them",
                          z->name, e->name, e->method);
    if (!in_bounds(z, e->local_offset, LOCAL_SIZE) ||
        rd32(z->buf + e->local_offset) != SIG_LOCAL)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip or truncated: entry '%s': expected a local header at "
                          "offset %llu",
                          z->name, e->name, (unsigned long long)e->local_offset);
    const uint8_t *h = z->buf + e->local_offset;
    uint64_t name_len = rd16(h + 26), extra_len = rd16(h + 28);
    uint64_t start = e->local_offset + LOCAL_SIZE + name_len + extra_len;
    /* The local extra field may carry its own ZIP64 sizes; the central
     * directory is authoritative, so the local one is only skipped. */
    if (name_len != strlen(e->name) || !in_bounds(z, e->local_offset + LOCAL_SIZE, name_len) ||
        memcmp(h + LOCAL_SIZE, e->name, name_len) != 0)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip: entry '%s': local header name does not match the "
                          "central directory",
                          z->name, e->name);
    if (e->csize != e->size)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: corrupt zip: stored entry '%s' has size %llu but compressed size "
                          "%llu",
                          z->name, e->name, (unsigned long long)e->size,
                          (unsigned long long)e->csize);
    if (!in_bounds(z, start, e->size))
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: truncated zip: entry '%s' needs %llu bytes at offset %llu, but the "
                          "file has %zu bytes",
                          z->name, e->name, (unsigned long long)e->size,
                          (unsigned long long)start, z->len);
    *data = z->buf + start;
    *size = e->size;
    return OCTIC_OK;
}
