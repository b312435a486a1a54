/* Decoding: JPEG through TurboJPEG, PNG through libpng, as PIL would give
 * the pixels to torchvision (Image.open(path).convert("RGB")).
 *
 * The format is decided by the first bytes, never by the file name. Every
 * failure names the file and the reason; nothing here exits or aborts, and
 * the decoders keep their state per call so that loader threads can decode
 * in parallel. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

/* Larger than any photo of the supported data sets (ImageNet's largest is
 * about 12 megapixels), small enough that a hostile header cannot make us
 * allocate gigabytes. */
static size_t max_pixels = (size_t)1 << 28;

void octic_image_set_max_pixels(size_t n) { max_pixels = n ? n : (size_t)1 << 28; }

void octic_image_free(octic_image *img) {
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

octic_image_format octic_image_detect(const uint8_t *buf, size_t len) {
    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff) return OCTIC_IMAGE_JPEG;
    if (len >= 8 && memcmp(buf, png_magic, 8) == 0) return OCTIC_IMAGE_PNG;
    return OCTIC_IMAGE_UNKNOWN;
}

/* "not a JPEG or PNG image (starts with 25 50 44 46)" */
static octic_status not_an_image(const char *name, const uint8_t *buf, size_t len) {
    if (len == 0)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: empty file (0 bytes), expected a JPEG or PNG image",
                          name);
    char hex[3 * 8 + 1] = "";
    for (size_t i = 0; i < len && i < 8; i++)
        snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%s%02x", i ? " " : "", buf[i]);
    return octic_fail(OCTIC_ERR_FORMAT,
                      "%s: not a JPEG or PNG image (the file starts with bytes %s; a JPEG starts "
                      "with ff d8 ff, a PNG with 89 50 4e 47)",
                      name, hex);
}

/* Reads a whole file into memory. Images are small, and read() costs less
 * than mapping and unmapping from many loader threads. */
static octic_status read_file(const char *path, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return octic_fail(OCTIC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return octic_fail(OCTIC_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return octic_fail(OCTIC_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *p = malloc(n ? n : 1);
    if (!p) {
        close(fd);
        return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* the file shrank while we read it: decode what is there */
        got += (size_t)r;
    }
    int e = errno;
    close(fd);
    if (got == 0 && n > 0) { /* nothing could be read at all */
        free(p);
        return octic_fail(OCTIC_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
    *buf = p;
    *len = got;
    return OCTIC_OK;
}

static octic_status check_size(const char *name, const char *what, long w, long h) {
    if (w < 1 || h < 1)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: %s of %ld x %ld pixels", name, what, w, h);
    if ((size_t)w * (size_t)h > max_pixels)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: %s of %ld x %ld pixels, more than the %zu pixels we decode", name,
                          what, w, h, max_pixels);
    return OCTIC_OK;
}

static octic_status alloc_image(octic_image *out, const char *name, int w, int h, int c) {
    out->width = w, out->height = h, out->channels = c;
    out->pixels = malloc((size_t)w * h * c);
    if (!out->pixels) {
        memset(out, 0, sizeof *out);
        return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory for a %d x %d image", name, w, h);
    }
    return OCTIC_OK;
}

/* ---- JPEG ---------------------------------------------------------------- */

static const char *jpeg_colorspace_name(int cs) {
    switch (cs) {
    case TJCS_RGB: return "RGB";
    case TJCS_YCbCr: return "YCbCr";
    case TJCS_GRAY: return "grayscale";
    case TJCS_CMYK: return "CMYK";
    case TJCS_YCCK: return "YCCK";
    }
    return "unknown";
}

/* PIL reads every 4-component JPEG with the Adobe polarity (raw mode
 * "CMYK;I": the stored bytes are inverted) and converts CMYK to RGB with
 * R = (255 - K) - C (255 - K) / 255, rounded as its MULDIV255 does. In the
 * stored bytes c' = 255 - C, k' = 255 - K. */
static inline uint8_t muldiv255(int a, int b) {
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static void cmyk_to_rgb(uint8_t *rgb, const uint8_t *cmyk, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int nk = cmyk[4 * i + 3]; /* 255 - K where K = 255 - stored */
        for (int c = 0; c < 3; c++) {
            int C = 255 - cmyk[4 * i + c];
            int v = nk - muldiv255(C, nk);
            rgb[3 * i + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

/* Where the marker segments before the first scan end past the file's end,
 * the file was cut: libjpeg then reports whatever it finds in the bytes
 * that are there (a "bogus" table), so we say so before its message.
 * Returns 1 and the segment's marker and offset when the file was cut. */
static int jpeg_cut_in_header(const uint8_t *buf, size_t len, int *marker, size_t *at) {
    size_t pos = 2; /* after SOI */
    while (pos < len) {
        if (buf[pos] != 0xff) return 0; /* not at a marker: libjpeg's message says more */
        while (pos < len && buf[pos] == 0xff) pos++;
        if (pos >= len) break;
        int m = buf[pos++];
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; /* TEM, RSTn: no length */
        if (m == 0xd9) return 0;                             /* EOI */
        if (pos + 2 > len || pos + ((size_t)buf[pos] << 8 | buf[pos + 1]) > len) {
            *marker = m, *at = pos - 2;
            return 1;
        }
        if (m == 0xda) return 0; /* SOS: entropy-coded data follows */
        pos += (size_t)buf[pos] << 8 | buf[pos + 1];
    }
    *marker = 0, *at = len;
    return 1; /* ended before any scan */
}

static octic_status jpeg_error(const uint8_t *buf, size_t len, const char *name, const char *msg) {
    int marker;
    size_t at;
    if (jpeg_cut_in_header(buf, len, &marker, &at)) {
        if (marker)
            return octic_fail(OCTIC_ERR_FORMAT,
                              "%s: truncated JPEG: the file ends (at %zu bytes) inside the marker "
                              "segment ff %02x that starts at byte %zu (libjpeg: %s)",
                              name, len, marker, at, msg);
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: truncated JPEG: the file ends (at %zu bytes) before any image data "
                          "(libjpeg: %s)",
                          name, len, msg);
    }
    return octic_fail(OCTIC_ERR_FORMAT, "%s: corrupt JPEG (libjpeg: %s)", name, msg);
}

/* Decodes with TurboJPEG's defaults (accurate integer IDCT, smooth chroma
 * upsampling), which are libjpeg's defaults and so PIL's. A warning that the
 * data ended early is an error (PIL refuses truncated files unless
 * LOAD_TRUNCATED_IMAGES is set); other warnings, such as stray bytes between
 * markers, are tolerated as PIL tolerates them. scale_num/scale_denom pick a
 * DCT scaling factor (1/1 for full size). */
static octic_status decode_jpeg(const uint8_t *buf, size_t len, const char *name, int scale_num,
                                int scale_denom, octic_image *out) {
    tjhandle tj = tjInitDecompress();
    if (!tj) return octic_fail(OCTIC_ERR_NOMEM, "%s: cannot start the JPEG decoder: %s", name, tjGetErrorStr2(NULL));
    octic_status st = OCTIC_OK;
    uint8_t *raw = NULL;
    int w = 0, h = 0, subsamp = 0, cs = 0;
    if (tjDecompressHeader3(tj, buf, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
        st = jpeg_error(buf, len, name, tjGetErrorStr2(tj));
        goto done;
    }
    if (w < 1 || h < 1) { /* a header read without its frame (a file cut short) */
        st = jpeg_error(buf, len, name, "no image size before the data ends");
        goto done;
    }
    if ((st = check_size(name, "a JPEG", w, h)) != OCTIC_OK) goto done;
    int sw = (w * scale_num + scale_denom - 1) / scale_denom;
    int sh = (h * scale_num + scale_denom - 1) / scale_denom;
    int pf, pc;
    switch (cs) {
    case TJCS_GRAY: pf = TJPF_GRAY, pc = 1; break;
    case TJCS_CMYK:
    case TJCS_YCCK: pf = TJPF_CMYK, pc = 4; break;
    default: pf = TJPF_RGB, pc = 3; break;
    }
    if (!(raw = malloc((size_t)sw * sh * pc))) {
        st = octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory for a %d x %d JPEG", name, sw, sh);
        goto done;
    }
    if (tjDecompress2(tj, buf, (unsigned long)len, raw, sw, 0, sh, pf, TJFLAG_LIMITSCANS) != 0) {
        const char *msg = tjGetErrorStr2(tj);
        int fatal = tjGetErrorCode(tj) == TJERR_FATAL;
        if (strstr(msg, "Premature end")) {
            st = octic_fail(OCTIC_ERR_FORMAT,
                            "%s: truncated JPEG: the image data ends early (libjpeg: %s)", name, msg);
            goto done;
        }
        if (fatal) {
            st = octic_fail(OCTIC_ERR_FORMAT, "%s: corrupt %d x %d %s JPEG (libjpeg: %s)", name, w,
                            h, jpeg_colorspace_name(cs), msg);
            goto done;
        }
    }
    if ((st = alloc_image(out, name, sw, sh, 3)) != OCTIC_OK) goto done;
    size_t n = (size_t)sw * sh;
    if (pc == 3) {
        memcpy(out->pixels, raw, n * 3);
    } else if (pc == 1) { /* PIL's convert("RGB") from L replicates */
        for (size_t i = 0; i < n; i++)
            out->pixels[3 * i] = out->pixels[3 * i + 1] = out->pixels[3 * i + 2] = raw[i];
    } else {
        cmyk_to_rgb(out->pixels, raw, n);
    }
done:
    free(raw);
    tjDestroy(tj);
    return st;
}

/* ---- PNG ----------------------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    const char *name;
    char message[200];
    jmp_buf jump;
} png_source;

static void png_read_mem(png_structp png, png_bytep dst, size_t n) {
    png_source *src = png_get_io_ptr(png);
    if (n > src->len - src->pos) png_error(png, "truncated: the file ends inside a chunk");
    memcpy(dst, src->buf + src->pos, n);
    src->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
    png_source *src = png_get_error_ptr(png);
    snprintf(src->message, sizeof src->message, "%s", msg);
    longjmp(src->jump, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static const char *png_color_name(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return "grayscale";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "grayscale with alpha";
    case PNG_COLOR_TYPE_PALETTE: return "palette";
    case PNG_COLOR_TYPE_RGB: return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "RGBA";
    }
    return "unknown color type";
}

/* as_mask = 0: 8-bit RGB, as PIL's convert("RGB") (alpha dropped, gray
 * replicated, palette looked up, 16-bit samples cut to their high byte as
 * PIL's "RGB;16B" raw mode does). One difference: PIL opens 16-bit grayscale
 * as 32-bit integers and clips them to 255, which turns most of such an
 * image white; we cut it to its high byte as well. as_mask = 1: one channel of labels, from
 * a palette PNG (the indices) or an 8-bit grayscale PNG. */
static octic_status decode_png(const uint8_t *buf, size_t len, const char *name, int as_mask,
                               octic_image *out) {
    png_source src;
    memset(&src, 0, sizeof src);
    src.buf = buf, src.len = len, src.name = name;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    if (!png) return octic_fail(OCTIC_ERR_NOMEM, "%s: cannot start the PNG decoder", name);
    png_infop info = png_create_info_struct(png);
    /* volatile: assigned between setjmp and a longjmp back */
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    octic_status st = OCTIC_OK;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return octic_fail(OCTIC_ERR_NOMEM, "%s: cannot start the PNG decoder", name);
    }
    if (setjmp(src.jump)) {
        st = octic_fail(OCTIC_ERR_FORMAT, "%s: %s PNG (%s)", name,
                        strstr(src.message, "truncated") ? "truncated" : "corrupt", src.message);
        goto done;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    png_set_chunk_malloc_max(png, 64u << 20);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), color = png_get_color_type(png, info);
    if ((st = check_size(name, "a PNG", (long)w, (long)h)) != OCTIC_OK) goto done;
    int channels;
    if (as_mask) {
        if (color == PNG_COLOR_TYPE_PALETTE) {
            if (depth < 8) png_set_packing(png); /* one index per byte */
        } else if (!(color == PNG_COLOR_TYPE_GRAY && depth == 8)) {
            st = octic_fail(OCTIC_ERR_UNSUPPORTED,
                            "%s: a label mask must be a palette PNG (class indices, as VOC) or an "
                            "8-bit grayscale PNG (as ADE20K); found a %d-bit %s PNG",
                            name, depth, png_color_name(color));
            goto done;
        }
        channels = 1;
    } else {
        if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (depth == 16) png_set_strip_16(png);
        /* alpha, and a palette's tRNS that the expansion turns into alpha */
        if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
            png_set_strip_alpha(png);
        if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
        channels = 3;
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * channels) {
        st = octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: a %d-bit %s PNG that we cannot convert", name,
                        depth, png_color_name(color));
        goto done;
    }
    pixels = malloc((size_t)w * h * channels);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) {
        st = octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory for a %u x %u PNG", name, (unsigned)w,
                        (unsigned)h);
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w * channels;
    png_read_image(png, rows);
    out->width = (int)w, out->height = (int)h, out->channels = channels;
    out->pixels = pixels;
    pixels = NULL;
done:
    free(pixels);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return st;
}

/* ---- entry points -------------------------------------------------------- */

octic_status octic_image_load_memory(const uint8_t *buf, size_t len, const char *name,
                                     octic_image *out) {
    memset(out, 0, sizeof *out);
    switch (octic_image_detect(buf, len)) {
    case OCTIC_IMAGE_JPEG: return decode_jpeg(buf, len, name, 1, 1, out);
    case OCTIC_IMAGE_PNG: return decode_png(buf, len, name, 0, out);
    default: return not_an_image(name, buf, len);
    }
}

octic_status octic_mask_load_memory(const uint8_t *buf, size_t len, const char *name,
                                    octic_image *out) {
    memset(out, 0, sizeof *out);
    switch (octic_image_detect(buf, len)) {
    case OCTIC_IMAGE_PNG: return decode_png(buf, len, name, 1, out);
    case OCTIC_IMAGE_JPEG:
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: a JPEG; a label mask must be a PNG (palette or 8-bit grayscale), "
                          "since JPEG compression alters the class indices",
                          name);
    default: return not_an_image(name, buf, len);
    }
}

static octic_status load_with(const char *path, octic_image *out,
                              octic_status (*load)(const uint8_t *, size_t, const char *,
                                                   octic_image *)) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    octic_status st = read_file(path, &buf, &len);
    if (st != OCTIC_OK) return st;
    st = load(buf, len, path, out);
    free(buf);
    return st;
}

octic_status octic_image_load(const char *path, octic_image *out) {
    return load_with(path, out, octic_image_load_memory);
}

octic_status octic_mask_load(const char *path, octic_image *out) {
    return load_with(path, out, octic_mask_load_memory);
}

/* A JPEG is decoded at the largest DCT scaling factor (n/8, n <= 8) whose
 * longer side fits max_side, so it is at least max_side/2 when the image is
 * larger; if even 1/8 is too large, the rest is a bicubic reduction. */
octic_status octic_image_thumbnail(const char *path, int max_side, octic_image *out) {
    memset(out, 0, sizeof *out);
    if (max_side < 1) return octic_fail(OCTIC_ERR_ARG, "%s: thumbnail size %d, expected >= 1", path, max_side);
    uint8_t *buf;
    size_t len;
    octic_status st = read_file(path, &buf, &len);
    if (st != OCTIC_OK) return st;
    if (octic_image_detect(buf, len) == OCTIC_IMAGE_JPEG) {
        tjhandle tj = tjInitDecompress();
        int w = 0, h = 0, subsamp = 0, cs = 0;
        if (tj && tjDecompressHeader3(tj, buf, (unsigned long)len, &w, &h, &subsamp, &cs) == 0 &&
            w > 0 && h > 0) {
            int nsf = 0, num = 1, denom = 8;
            tjscalingfactor *sf = tjGetScalingFactors(&nsf);
            long longer = w > h ? w : h, best = LONG_MAX;
            for (int i = 0; sf && i < nsf; i++) {
                if (sf[i].num > sf[i].denom) continue; /* no upscaling */
                long s = (longer * sf[i].num + sf[i].denom - 1) / sf[i].denom;
                /* the largest that fits, else the smallest there is */
                int fits = s <= max_side;
                long key = fits ? -s : LONG_MAX / 2 + s;
                if (key < best) best = key, num = sf[i].num, denom = sf[i].denom;
            }
            tjDestroy(tj);
            st = decode_jpeg(buf, len, path, num, denom, out);
        } else {
            if (tj) tjDestroy(tj);
            st = decode_jpeg(buf, len, path, 1, 1, out); /* reports the header error */
        }
    } else {
        st = octic_image_load_memory(buf, len, path, out);
    }
    free(buf);
    if (st != OCTIC_OK) return st;
    int longer = out->width > out->height ? out->width : out->height;
    if (longer <= max_side) return OCTIC_OK;
    int tw = (int)((long)out->width * max_side / longer), th = (int)((long)out->height * max_side / longer);
    octic_image small;
    st = octic_image_resize(out, tw < 1 ? 1 : tw, th < 1 ? 1 : th, OCTIC_RESAMPLE_BICUBIC, &small);
    octic_image_free(out);
    if (st != OCTIC_OK) return octic_fail_prefix(st, path);
    *out = small;
    return OCTIC_OK;
}
