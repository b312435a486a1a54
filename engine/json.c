/* JSON reader/writer for safetensors headers (see json.h). */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, pos;
    const char *name;
} parser;

static octic_status perr(parser *p, const char *what) {
    return octic_fail(OCTIC_ERR_FORMAT, "%s: invalid JSON: %s at offset %zu", p->name, what,
                      p->pos);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int peek(parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int hex4(const char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string at p->pos (which is on the opening quote). The decoded
 * string is never longer than the escaped one, so one allocation of the raw
 * length suffices. */
static octic_status parse_string(parser *p, char **out, size_t *out_len) {
    p->pos++; /* opening quote */
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\') end++;
        end++;
    }
    if (end >= p->len) return perr(p, "unterminated string");
    char *o = malloc(end - start + 1);
    if (!o) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", p->name);
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) { free(o); return perr(p, "control character in string"); }
        if (c != '\\') { o[n++] = (char)c; p->pos++; continue; }
        char e = p->s[p->pos + 1]; /* in bounds: a backslash is never last before end */
        p->pos += 2;
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (end - p->pos < 4 || !hex4(p->s + p->pos, &cp)) {
                free(o);
                return perr(p, "bad \\u escape");
            }
            p->pos += 4;
            /* A surrogate pair is two escapes; a lone half becomes U+FFFD. */
            if (cp >= 0xd800 && cp < 0xdc00 && end - p->pos >= 6 && p->s[p->pos] == '\\' &&
                p->s[p->pos + 1] == 'u' && hex4(p->s + p->pos + 2, &lo) && lo >= 0xdc00 &&
                lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p->pos += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            n += put_utf8(o + n, cp); /* at most 4 bytes from >= 6 escaped bytes */
            break;
        }
        default: free(o); p->pos -= 2; return perr(p, "bad escape in string");
        }
    }
    p->pos = end + 1;
    o[n] = '\0';
    *out = o;
    *out_len = n;
    return OCTIC_OK;
}

static octic_status parse_number(parser *p, octic_json *v) {
    size_t start = p->pos;
    int is_int = 1;
    if (peek(p) == '-') p->pos++;
    if (peek(p) == '0') {
        p->pos++;
    } else if (peek(p) >= '1' && peek(p) <= '9') {
        while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
    } else {
        return perr(p, "bad number");
    }
    if (peek(p) == '.') {
        is_int = 0;
        p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9')) return perr(p, "bad number");
        while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        is_int = 0;
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9')) return perr(p, "bad number");
        while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
    }
    char tmp[64];
    size_t n = p->pos - start;
    if (n >= sizeof tmp) {
        /* Too long to be a sensible number in a header. */
        p->pos = start;
        return perr(p, "number too long");
    }
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    if (is_int) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0) {
            v->type = OCTIC_JSON_INT;
            v->i = ll;
            return OCTIC_OK;
        }
    }
    v->type = OCTIC_JSON_NUMBER;
    v->num = strtod(tmp, NULL);
    return OCTIC_OK;
}

static octic_status parse_value(parser *p, octic_json *v, int depth);

/* Appends one item (and key, for objects) to a container, doubling. */
static octic_status push_item(parser *p, octic_json *v, size_t *cap, int with_key) {
    if (v->len < *cap) return OCTIC_OK;
    size_t ncap = *cap ? *cap * 2 : 8;
    octic_json *items = realloc(v->items, ncap * sizeof *items);
    if (!items) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", p->name);
    v->items = items;
    if (with_key) {
        char **keys = realloc(v->keys, ncap * sizeof *keys);
        if (!keys) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", p->name);
        v->keys = keys;
    }
    *cap = ncap;
    return OCTIC_OK;
}

static octic_status parse_array(parser *p, octic_json *v, int depth) {
    v->type = OCTIC_JSON_ARRAY;
    size_t cap = 0;
    p->pos++; /* [ */
    skip_ws(p);
    if (peek(p) == ']') { p->pos++; return OCTIC_OK; }
    for (;;) {
        octic_status st = push_item(p, v, &cap, 0);
        if (st) return st;
        memset(&v->items[v->len], 0, sizeof v->items[0]);
        v->len++;
        st = parse_value(p, &v->items[v->len - 1], depth + 1);
        if (st) return st;
        skip_ws(p);
        if (peek(p) == ',') { p->pos++; continue; }
        if (peek(p) == ']') { p->pos++; return OCTIC_OK; }
        return perr(p, "expected ',' or ']'");
    }
}

static octic_status parse_object(parser *p, octic_json *v, int depth) {
    v->type = OCTIC_JSON_OBJECT;
    size_t cap = 0;
    p->pos++; /* { */
    skip_ws(p);
    if (peek(p) == '}') { p->pos++; return OCTIC_OK; }
    for (;;) {
        skip_ws(p);
        if (peek(p) != '"') return perr(p, "expected a string key");
        octic_status st = push_item(p, v, &cap, 1);
        if (st) return st;
        size_t klen;
        char *key;
        st = parse_string(p, &key, &klen);
        if (st) return st;
        memset(&v->items[v->len], 0, sizeof v->items[0]);
        v->keys[v->len] = key;
        v->len++;
        skip_ws(p);
        if (peek(p) != ':') return perr(p, "expected ':'");
        p->pos++;
        st = parse_value(p, &v->items[v->len - 1], depth + 1);
        if (st) return st;
        skip_ws(p);
        if (peek(p) == ',') { p->pos++; continue; }
        if (peek(p) == '}') { p->pos++; return OCTIC_OK; }
        return perr(p, "expected ',' or '}'");
    }
}

static int match_word(parser *p, const char *w) {
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static octic_status parse_value(parser *p, octic_json *v, int depth) {
    if (depth > OCTIC_JSON_MAX_DEPTH) return perr(p, "nested too deeply");
    skip_ws(p);
    int c = peek(p);
    switch (c) {
    case -1: return perr(p, "unexpected end");
    case '{': return parse_object(p, v, depth);
    case '[': return parse_array(p, v, depth);
    case '"': v->type = OCTIC_JSON_STRING; return parse_string(p, &v->str, &v->len);
    case 't':
        if (!match_word(p, "true")) return perr(p, "bad literal");
        v->type = OCTIC_JSON_BOOL;
        v->b = 1;
        return OCTIC_OK;
    case 'f':
        if (!match_word(p, "false")) return perr(p, "bad literal");
        v->type = OCTIC_JSON_BOOL;
        return OCTIC_OK;
    case 'n':
        if (!match_word(p, "null")) return perr(p, "bad literal");
        v->type = OCTIC_JSON_NULL;
        return OCTIC_OK;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
        return perr(p, "unexpected character");
    }
}

octic_status octic_json_parse(const char *text, size_t len, const char *name, octic_json *out) {
    parser p = {text, len, 0, name};
    memset(out, 0, sizeof *out);
    octic_status st = parse_value(&p, out, 0);
    if (!st) {
        skip_ws(&p);
        if (p.pos != p.len) st = perr(&p, "trailing characters");
    }
    if (st) octic_json_free(out);
    return st;
}

void octic_json_free(octic_json *v) {
    if (!v) return;
    for (size_t i = 0; i < v->len && v->items; i++) {
        octic_json_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof *v);
}

const octic_json *octic_json_get(const octic_json *obj, const char *key) {
    if (!obj || obj->type != OCTIC_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

/* --- writer --------------------------------------------------------------- */

void octic_jbuf_raw(octic_json_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *d = realloc(b->data, ncap);
        if (!d) { b->failed = 1; return; }
        b->data = d;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void octic_jbuf_cstr(octic_json_buf *b, const char *s) { octic_jbuf_raw(b, s, strlen(s)); }

void octic_jbuf_string(octic_json_buf *b, const char *s) {
    octic_jbuf_raw(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        switch (*c) {
        case '"': octic_jbuf_raw(b, "\\\"", 2); break;
        case '\\': octic_jbuf_raw(b, "\\\\", 2); break;
        case '\n': octic_jbuf_raw(b, "\\n", 2); break;
        case '\r': octic_jbuf_raw(b, "\\r", 2); break;
        case '\t': octic_jbuf_raw(b, "\\t", 2); break;
        default:
            if (*c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *c);
                octic_jbuf_raw(b, esc, 6);
            } else {
                octic_jbuf_raw(b, (const char *)c, 1);
            }
        }
    }
    octic_jbuf_raw(b, "\"", 1);
}

void octic_jbuf_int(octic_json_buf *b, int64_t v) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    octic_jbuf_raw(b, tmp, (size_t)n);
}

void octic_jbuf_free(octic_json_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}
