/* Pickle reader for torch.save checkpoints (see pickle.h).
 *
 * The interpreter is a loop over opcodes with an explicit value stack, mark
 * stack and memo, so nesting in the file never becomes recursion here. Every
 * length read from the file is checked against the bytes left, and the
 * stack, marks and memo are capped, so hostile input costs at most time and
 * memory linear in its size. */
#include "pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STACK (1u << 24)
#define MAX_MARKS 10000
#define MAX_APPLY_DEPTH 16
#define MAX_GLOBAL_LINE 1024

struct octic_pickle {
    const uint8_t *buf;
    size_t len, pos, op_pos; /* op_pos: offset of the opcode being run */
    uint8_t op;
    const char *name;
    octic_pk_value **all; /* every value made, for freeing */
    size_t n_all, cap_all;
    octic_pk_value **stack;
    size_t sp, cap_stack;
    size_t *marks;
    size_t n_marks, cap_marks;
    octic_pk_value **memo; /* sparse: NULL where unset */
    size_t cap_memo, memo_count;
    size_t copy_budget; /* items make_dict may still copy (see there) */
};

/* --- small helpers ---------------------------------------------------------- */

static octic_status oom(octic_pickle *pk) {
    return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory while unpickling", pk->name);
}

static octic_status bad(octic_pickle *pk, const char *what) {
    return octic_fail(OCTIC_ERR_FORMAT, "%s: bad pickle: %s (opcode 0x%02x at offset %zu)",
                      pk->name, what, pk->op, pk->op_pos);
}

/* Doubles *cap until it holds `need` elements of `size` bytes. */
static int grow_array(void **items, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 1;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    void *p = realloc(*items, ncap * size);
    if (!p) return 0;
    *items = p;
    *cap = ncap;
    return 1;
}

static octic_pk_value *new_value(octic_pickle *pk, octic_pk_kind kind) {
    if (!grow_array((void **)&pk->all, &pk->cap_all, pk->n_all + 1, sizeof *pk->all)) return NULL;
    octic_pk_value *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->kind = kind;
    pk->all[pk->n_all++] = v;
    return v;
}

static char *dup_bytes(const void *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int add_item(octic_pk_value *c, octic_pk_value *item) {
    if (!grow_array((void **)&c->items, &c->cap, c->n + 1, sizeof *c->items)) return 0;
    c->items[c->n++] = item;
    return 1;
}

static int is_str(const octic_pk_value *v, const char *s) {
    return v && v->kind == OCTIC_PK_STR && strcmp(v->s, s) == 0 && strlen(s) == v->len;
}

static int is_global(const octic_pk_value *v, const char *s) {
    return v && v->kind == OCTIC_PK_GLOBAL && strcmp(v->s, s) == 0;
}

/* Items on the stack above the innermost mark: all an opcode may touch. */
static size_t avail(const octic_pickle *pk) {
    return pk->sp - (pk->n_marks ? pk->marks[pk->n_marks - 1] : 0);
}

static octic_status push(octic_pickle *pk, octic_pk_value *v) {
    if (!v) return oom(pk);
    if (pk->sp >= MAX_STACK) return bad(pk, "stack too deep");
    if (!grow_array((void **)&pk->stack, &pk->cap_stack, pk->sp + 1, sizeof *pk->stack))
        return oom(pk);
    pk->stack[pk->sp++] = v;
    return OCTIC_OK;
}

static octic_status pop(octic_pickle *pk, octic_pk_value **v) {
    if (avail(pk) == 0) return bad(pk, "stack underflow");
    *v = pk->stack[--pk->sp];
    return OCTIC_OK;
}

static octic_status top(octic_pickle *pk, octic_pk_value **v) {
    if (avail(pk) == 0) return bad(pk, "stack underflow");
    *v = pk->stack[pk->sp - 1];
    return OCTIC_OK;
}

/* Pops the innermost mark; the items above it are stack[*base .. sp). */
static octic_status pop_mark(octic_pickle *pk, size_t *base) {
    if (pk->n_marks == 0) return bad(pk, "no MARK on the stack");
    *base = pk->marks[--pk->n_marks];
    return OCTIC_OK;
}

static octic_status need(octic_pickle *pk, uint64_t n) {
    if (n > pk->len - pk->pos)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: truncated pickle: opcode 0x%02x at offset %zu needs %llu bytes, "
                          "%zu left",
                          pk->name, pk->op, pk->op_pos, (unsigned long long)n,
                          pk->len - pk->pos);
    return OCTIC_OK;
}

static uint64_t read_le(octic_pickle *pk, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)pk->buf[pk->pos + i] << (8 * i);
    pk->pos += n;
    return v;
}

/* Reads an n-byte little-endian length (n = 1, 4 or 8), checks the payload
 * fits in what is left, and returns it. */
static octic_status read_len(octic_pickle *pk, int n, int is_signed, uint64_t *out) {
    octic_status st = need(pk, n);
    if (st) return st;
    uint64_t len = read_le(pk, n);
    if (is_signed && n == 4 && (len & 0x80000000u)) return bad(pk, "negative length");
    st = need(pk, len);
    if (st) return st;
    *out = len;
    return OCTIC_OK;
}

/* --- values ------------------------------------------------------------------ */

static octic_status push_int(octic_pickle *pk, int64_t i) {
    octic_pk_value *v = new_value(pk, OCTIC_PK_INT);
    if (v) v->i = i;
    return push(pk, v);
}

static octic_status push_bytes(octic_pickle *pk, octic_pk_kind kind, size_t n) {
    octic_pk_value *v = new_value(pk, kind);
    if (!v || !(v->s = dup_bytes(pk->buf + pk->pos, n))) return oom(pk);
    v->len = n;
    pk->pos += n;
    return push(pk, v);
}

/* An opaque value named `what`, which must outlive the pickle (a literal, or
 * the name of a GLOBAL value): names are shared, never copied, so that
 * re-using one name many times costs no memory. */
static octic_pk_value *new_opaque(octic_pickle *pk, const char *what) {
    octic_pk_value *v = new_value(pk, OCTIC_PK_OPAQUE);
    if (v) {
        v->s = (char *)(uintptr_t)what;
        v->s_borrowed = 1;
    }
    return v;
}

static octic_status push_opaque(octic_pickle *pk, const char *what) {
    return push(pk, new_opaque(pk, what));
}

/* LONG1/LONG4: little-endian two's complement. Up to 8 bytes fits int64;
 * a bigger int (a random seed, say) is carried as opaque. */
static octic_status op_long(octic_pickle *pk, int lenbytes) {
    uint64_t n = 0;
    octic_status st = read_len(pk, lenbytes, 1, &n);
    if (st) return st;
    if (n > 8) {
        pk->pos += n;
        return push_opaque(pk, "int (more than 64 bits)");
    }
    uint64_t u = n ? read_le(pk, (int)n) : 0;
    if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~(uint64_t)0 << (8 * n); /* sign */
    return push_int(pk, (int64_t)u);
}

static octic_status op_binfloat(octic_pickle *pk) {
    octic_status st = need(pk, 8);
    if (st) return st;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = (u << 8) | pk->buf[pk->pos + i]; /* big-endian */
    pk->pos += 8;
    octic_pk_value *v = new_value(pk, OCTIC_PK_FLOAT);
    if (v) memcpy(&v->f, &u, sizeof v->f);
    return push(pk, v);
}

static octic_status make_global(octic_pickle *pk, const char *module, size_t mlen,
                                const char *name, size_t nlen) {
    octic_pk_value *v = new_value(pk, OCTIC_PK_GLOBAL);
    if (!v || !(v->s = malloc(mlen + nlen + 2))) return oom(pk);
    memcpy(v->s, module, mlen);
    v->s[mlen] = '.';
    memcpy(v->s + mlen + 1, name, nlen);
    v->s[mlen + nlen + 1] = '\0';
    v->len = mlen + nlen + 1;
    return push(pk, v);
}

/* GLOBAL: "module\nname\n" as text. */
static octic_status op_global(octic_pickle *pk) {
    const char *lines[2];
    size_t lens[2];
    for (int i = 0; i < 2; i++) {
        size_t left = pk->len - pk->pos;
        if (left > MAX_GLOBAL_LINE) left = MAX_GLOBAL_LINE;
        const uint8_t *nl = memchr(pk->buf + pk->pos, '\n', left);
        if (!nl) return bad(pk, "GLOBAL without a newline-terminated module and name");
        lines[i] = (const char *)pk->buf + pk->pos;
        lens[i] = (size_t)(nl - (pk->buf + pk->pos));
        pk->pos += lens[i] + 1;
    }
    return make_global(pk, lines[0], lens[0], lines[1], lens[1]);
}

static octic_status op_stack_global(octic_pickle *pk) {
    octic_pk_value *mod = NULL, *name = NULL;
    octic_status st = pop(pk, &name);
    if (!st) st = pop(pk, &mod);
    if (st) return st;
    if (mod->kind != OCTIC_PK_STR || name->kind != OCTIC_PK_STR)
        return bad(pk, "STACK_GLOBAL needs two strings");
    /* Bounded like GLOBAL's lines: the strings may come from the memo many
     * times over, and each global copies them. */
    if (mod->len > MAX_GLOBAL_LINE || name->len > MAX_GLOBAL_LINE)
        return bad(pk, "STACK_GLOBAL module or name too long");
    return make_global(pk, mod->s, mod->len, name->s, name->len);
}

static octic_dtype storage_dtype(const octic_pk_value *type) {
    static const struct {
        const char *name;
        octic_dtype dt;
    } types[] = {
        {"torch.FloatStorage", OCTIC_DT_F32},     {"torch.HalfStorage", OCTIC_DT_F16},
        {"torch.BFloat16Storage", OCTIC_DT_BF16}, {"torch.DoubleStorage", OCTIC_DT_F64},
        {"torch.LongStorage", OCTIC_DT_I64},      {"torch.IntStorage", OCTIC_DT_I32},
        {"torch.ShortStorage", OCTIC_DT_I16},     {"torch.CharStorage", OCTIC_DT_I8},
        {"torch.ByteStorage", OCTIC_DT_U8},       {"torch.BoolStorage", OCTIC_DT_BOOL},
        {"torch.ComplexFloatStorage", OCTIC_DT_C64},
        {"torch.ComplexDoubleStorage", OCTIC_DT_C128},
    };
    if (!type || type->kind != OCTIC_PK_GLOBAL) return OCTIC_DT_UNKNOWN;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type->s, types[i].name) == 0) return types[i].dt;
    return OCTIC_DT_UNKNOWN;
}

/* BINPERSID: ('storage', storage_type, key, location, numel) is a torch
 * storage; any other persistent id is carried as opaque. */
static octic_status op_binpersid(octic_pickle *pk) {
    octic_pk_value *pid = NULL;
    octic_status st = pop(pk, &pid);
    if (st) return st;
    if (pid->kind != OCTIC_PK_TUPLE || pid->n < 5 || !is_str(pid->items[0], "storage") ||
        pid->items[4]->kind != OCTIC_PK_INT)
        return push_opaque(pk, "persistent id");
    octic_pk_value *key = pid->items[2];
    if (key->kind != OCTIC_PK_STR && key->kind != OCTIC_PK_INT)
        return bad(pk, "storage persistent id with a key that is not a string");
    if (pid->items[4]->i < 0) return bad(pk, "storage persistent id with a negative size");
    octic_pk_value *v = new_value(pk, OCTIC_PK_STORAGE);
    if (!v) return oom(pk);
    v->dtype = storage_dtype(pid->items[1]);
    v->numel = pid->items[4]->i;
    if (key->kind == OCTIC_PK_INT) { /* name it by its decimal digits */
        char tmp[32];
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)key->i);
        key = new_value(pk, OCTIC_PK_STR);
        if (!key || !(key->s = dup_bytes(tmp, (size_t)n))) return oom(pk);
        key->len = (size_t)n;
    }
    v->key = key->s;
    return push(pk, v);
}

/* Reads a tuple of non-negative ints (a size or a stride). */
static octic_status int_tuple(octic_pickle *pk, const octic_pk_value *t, int64_t *out,
                              int *n, const char *what) {
    char msg[128];
    if (t->kind != OCTIC_PK_TUPLE && t->kind != OCTIC_PK_LIST) {
        snprintf(msg, sizeof msg, "tensor %s is a %s, expected a tuple", what,
                 octic_pk_kind_name(t->kind));
        return bad(pk, msg);
    }
    if (t->n > OCTIC_MAX_DIMS)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: a tensor has %zu dimensions: at most %d are supported", pk->name,
                          t->n, OCTIC_MAX_DIMS);
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != OCTIC_PK_INT || t->items[i]->i < 0) {
            snprintf(msg, sizeof msg, "tensor %s holds something other than a non-negative int",
                     what);
            return bad(pk, msg);
        }
        out[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return OCTIC_OK;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta]) */
static octic_status rebuild_tensor(octic_pickle *pk, const octic_pk_value *args,
                                   octic_pk_value **out) {
    if (args->kind != OCTIC_PK_TUPLE || args->n < 4)
        return bad(pk, "torch._utils._rebuild_tensor_v2 needs (storage, offset, size, stride)");
    const octic_pk_value *storage = args->items[0];
    if (storage->kind != OCTIC_PK_STORAGE)
        return bad(pk, "torch._utils._rebuild_tensor_v2 called without a storage");
    if (args->items[1]->kind != OCTIC_PK_INT || args->items[1]->i < 0)
        return bad(pk, "tensor storage offset is not a non-negative int");
    octic_pk_value *v = new_value(pk, OCTIC_PK_TENSOR);
    if (!v) return oom(pk);
    int nstride;
    octic_status st = int_tuple(pk, args->items[2], v->size, &v->ndim, "size");
    if (!st) st = int_tuple(pk, args->items[3], v->stride, &nstride, "stride");
    if (st) return st;
    if (nstride != v->ndim) return bad(pk, "tensor size and stride differ in length");
    v->storage = (octic_pk_value *)storage;
    v->offset = args->items[1]->i;
    *out = v;
    return OCTIC_OK;
}

/* OrderedDict() or OrderedDict([(k, v), ...]). */
static octic_status make_dict(octic_pickle *pk, const octic_pk_value *args,
                              octic_pk_value **out) {
    octic_pk_value *d = new_value(pk, OCTIC_PK_DICT);
    if (!d) return oom(pk);
    if (args && args->kind == OCTIC_PK_TUPLE && args->n == 1 &&
        args->items[0]->kind == OCTIC_PK_LIST) {
        const octic_pk_value *l = args->items[0];
        /* Every other opcode costs time linear in the bytes it reads; this
         * one copies a list the memo can hand out again and again, so a
         * small file could demand quadratic work. Cap the total. */
        if (l->n > pk->copy_budget) return bad(pk, "too many OrderedDict items to copy");
        pk->copy_budget -= l->n;
        for (size_t i = 0; i < l->n; i++) {
            const octic_pk_value *kv = l->items[i];
            if (kv->kind != OCTIC_PK_TUPLE || kv->n != 2) continue;
            if (!add_item(d, kv->items[0]) || !add_item(d, kv->items[1])) return oom(pk);
        }
    }
    *out = d;
    return OCTIC_OK;
}

/* What calling `fn(*args)` gives, for the few callables we know. Never
 * calls anything: unknown callables produce an opaque object named after
 * them. */
static octic_status apply(octic_pickle *pk, const octic_pk_value *fn, const octic_pk_value *args,
                          int depth, octic_pk_value **out) {
    if (depth > MAX_APPLY_DEPTH) return bad(pk, "rebuild functions nested too deeply");
    if (is_global(fn, "collections.OrderedDict") || is_global(fn, "builtins.dict"))
        return make_dict(pk, args, out);
    if (is_global(fn, "torch._utils._rebuild_tensor_v2") ||
        is_global(fn, "torch._utils._rebuild_tensor"))
        return rebuild_tensor(pk, args, out);
    if (is_global(fn, "torch._utils._rebuild_parameter") ||
        is_global(fn, "torch._utils._rebuild_parameter_with_state")) {
        if (args->kind != OCTIC_PK_TUPLE || args->n < 1)
            return bad(pk, "torch._utils._rebuild_parameter needs (tensor, ...)");
        *out = args->items[0]; /* the parameter is its data tensor */
        return OCTIC_OK;
    }
    if (is_global(fn, "torch._tensor._rebuild_from_type_v2")) {
        /* (func, new_type, args, state): a tensor subclass around func(*args). */
        if (args->kind != OCTIC_PK_TUPLE || args->n < 3 ||
            args->items[2]->kind != OCTIC_PK_TUPLE)
            return bad(pk, "torch._tensor._rebuild_from_type_v2 needs (func, type, args, state)");
        return apply(pk, args->items[0], args->items[2], depth + 1, out);
    }
    *out = new_opaque(pk, fn->kind == OCTIC_PK_GLOBAL || fn->kind == OCTIC_PK_OPAQUE ? fn->s
                                                                                    : "object");
    return *out ? OCTIC_OK : oom(pk);
}

static octic_status op_reduce(octic_pickle *pk) {
    octic_pk_value *fn = NULL, *args = NULL, *res = NULL;
    octic_status st = pop(pk, &args);
    if (!st) st = pop(pk, &fn);
    if (!st) st = apply(pk, fn, args, 0, &res);
    if (st) return st;
    return push(pk, res);
}

/* NEWOBJ / NEWOBJ_EX / OBJ: cls.__new__(cls, ...). Only OrderedDict is
 * meaningful to us; any other class gives an opaque instance. */
static octic_status new_object(octic_pickle *pk, const octic_pk_value *cls) {
    if (is_global(cls, "collections.OrderedDict") || is_global(cls, "builtins.dict"))
        return push(pk, new_value(pk, OCTIC_PK_DICT));
    return push_opaque(pk, cls->kind == OCTIC_PK_GLOBAL || cls->kind == OCTIC_PK_OPAQUE
                               ? cls->s
                               : "object");
}

static octic_status op_newobj(octic_pickle *pk, int with_kwargs) {
    octic_pk_value *cls = NULL, *args = NULL, *kwargs = NULL;
    octic_status st = OCTIC_OK;
    if (with_kwargs) st = pop(pk, &kwargs);
    if (!st) st = pop(pk, &args);
    if (!st) st = pop(pk, &cls);
    if (st) return st;
    return new_object(pk, cls);
}

static octic_status op_obj(octic_pickle *pk) {
    size_t base = 0;
    octic_status st = pop_mark(pk, &base);
    if (st) return st;
    if (pk->sp == base) return bad(pk, "OBJ without a class");
    octic_pk_value *cls = pk->stack[base];
    pk->sp = base;
    return new_object(pk, cls);
}

/* BUILD: obj.__setstate__(state). We keep no object state: the state is
 * dropped and the object stays what it was (opaque, or a dict). */
static octic_status op_build(octic_pickle *pk) {
    octic_pk_value *state = NULL, *obj = NULL;
    octic_status st = pop(pk, &state);
    if (!st) st = top(pk, &obj);
    return st;
}

/* Builds a tuple/list from the items above the innermost mark. */
static octic_status op_collect(octic_pickle *pk, octic_pk_kind kind) {
    size_t base = 0;
    octic_status st = pop_mark(pk, &base);
    if (st) return st;
    octic_pk_value *v = new_value(pk, kind);
    if (!v) return oom(pk);
    size_t n = pk->sp - base;
    if (kind == OCTIC_PK_DICT && n % 2) return bad(pk, "DICT with an odd number of items");
    if (n) {
        v->items = malloc(n * sizeof *v->items);
        if (!v->items) return oom(pk);
        memcpy(v->items, pk->stack + base, n * sizeof *v->items);
        v->n = v->cap = n;
    }
    pk->sp = base;
    return push(pk, v);
}

static octic_status op_tuple_n(octic_pickle *pk, size_t n) {
    if (avail(pk) < n) return bad(pk, "stack underflow");
    octic_pk_value *v = new_value(pk, OCTIC_PK_TUPLE);
    if (!v) return oom(pk);
    if (n) {
        v->items = malloc(n * sizeof *v->items);
        if (!v->items) return oom(pk);
        memcpy(v->items, pk->stack + pk->sp - n, n * sizeof *v->items);
        v->n = v->cap = n;
    }
    pk->sp -= n;
    return push(pk, v);
}

/* APPEND(S) / SETITEM(S) / ADDITEMS: add the items stack[from..sp) to the
 * container at stack[from-1]. Adding to an opaque object (a custom
 * container class) drops the items. */
static octic_status add_to_container(octic_pickle *pk, size_t from, octic_pk_kind want) {
    if (from == 0 || (pk->n_marks && from - 1 < pk->marks[pk->n_marks - 1]))
        return bad(pk, "no container below the items");
    octic_pk_value *c = pk->stack[from - 1];
    size_t n = pk->sp - from;
    if (want == OCTIC_PK_DICT && n % 2) return bad(pk, "SETITEMS with an odd number of items");
    if (c->kind == want && n > 0) {
        if (!grow_array((void **)&c->items, &c->cap, c->n + n, sizeof *c->items)) return oom(pk);
        memcpy(c->items + c->n, pk->stack + from, n * sizeof *c->items);
        c->n += n;
    } else if (c->kind != want && c->kind != OCTIC_PK_OPAQUE) {
        char msg[96];
        snprintf(msg, sizeof msg, "adding items to a %s", octic_pk_kind_name(c->kind));
        return bad(pk, msg);
    }
    pk->sp = from;
    return OCTIC_OK;
}

static octic_status op_add_marked(octic_pickle *pk, octic_pk_kind want) {
    size_t base = 0;
    octic_status st = pop_mark(pk, &base);
    if (st) return st;
    return add_to_container(pk, base, want);
}

static octic_status op_add_n(octic_pickle *pk, size_t n, octic_pk_kind want) {
    if (avail(pk) < n + 1) return bad(pk, "stack underflow");
    return add_to_container(pk, pk->sp - n, want);
}

/* --- memo ------------------------------------------------------------------ */

static octic_status memo_put(octic_pickle *pk, uint64_t idx) {
    octic_pk_value *v = NULL;
    octic_status st = top(pk, &v);
    if (st) return st;
    /* Picklers number memo entries 0, 1, 2, ...: an index beyond the size
     * of the pickle can only come from a corrupt (or hostile) file. */
    if (idx > pk->len + 256) return bad(pk, "memo index out of range");
    if (idx >= pk->cap_memo) {
        size_t old = pk->cap_memo;
        if (!grow_array((void **)&pk->memo, &pk->cap_memo, idx + 1, sizeof *pk->memo))
            return oom(pk);
        memset(pk->memo + old, 0, (pk->cap_memo - old) * sizeof *pk->memo);
    }
    if (!pk->memo[idx]) pk->memo_count++;
    pk->memo[idx] = v;
    return OCTIC_OK;
}

static octic_status memo_get(octic_pickle *pk, uint64_t idx) {
    if (idx >= pk->cap_memo || !pk->memo[idx]) {
        char msg[64];
        snprintf(msg, sizeof msg, "memo key %llu not found", (unsigned long long)idx);
        return bad(pk, msg);
    }
    return push(pk, pk->memo[idx]);
}

/* --- the interpreter ----------------------------------------------------------- */

static octic_status fixed(octic_pickle *pk, int n, uint64_t *v) {
    octic_status st = need(pk, n);
    if (st) return st;
    *v = read_le(pk, n);
    return OCTIC_OK;
}

/* Runs one opcode. *done is set by STOP. */
static octic_status step(octic_pickle *pk, octic_pk_value **result, int *done) {
    uint64_t n = 0;
    octic_status st;
    octic_pk_value *v = NULL;
    pk->op_pos = pk->pos;
    pk->op = pk->buf[pk->pos++];
    switch (pk->op) {
    case 0x80: /* PROTO */
        if ((st = fixed(pk, 1, &n))) return st;
        if (n > 5)
            return octic_fail(OCTIC_ERR_UNSUPPORTED,
                              "%s: pickle protocol %llu: protocols 2 to 5 are supported",
                              pk->name, (unsigned long long)n);
        return OCTIC_OK;
    case 0x95: /* FRAME: a length hint we only validate */
        if ((st = fixed(pk, 8, &n))) return st;
        return need(pk, n);
    case '.': /* STOP */
        if ((st = pop(pk, result))) return st;
        *done = 1;
        return OCTIC_OK;
    case '(': /* MARK */
        if (pk->n_marks >= MAX_MARKS) return bad(pk, "too many nested MARKs");
        if (!grow_array((void **)&pk->marks, &pk->cap_marks, pk->n_marks + 1, sizeof *pk->marks))
            return oom(pk);
        pk->marks[pk->n_marks++] = pk->sp;
        return OCTIC_OK;
    case '0': /* POP: an item, or the mark when nothing is above it */
        if (avail(pk) == 0 && pk->n_marks) {
            pk->n_marks--;
            return OCTIC_OK;
        }
        return pop(pk, &v);
    case '1': /* POP_MARK */
        if ((st = pop_mark(pk, &n))) return st;
        pk->sp = n;
        return OCTIC_OK;
    case '2': /* DUP */
        if ((st = top(pk, &v))) return st;
        return push(pk, v);
    case 'N': return push(pk, new_value(pk, OCTIC_PK_NONE));
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
        if (!(v = new_value(pk, OCTIC_PK_BOOL))) return oom(pk);
        v->i = pk->op == 0x88;
        return push(pk, v);
    case 'J': /* BININT */
        if ((st = fixed(pk, 4, &n))) return st;
        return push_int(pk, (int32_t)(uint32_t)n);
    case 'K': /* BININT1 */
        if ((st = fixed(pk, 1, &n))) return st;
        return push_int(pk, (int64_t)n);
    case 'M': /* BININT2 */
        if ((st = fixed(pk, 2, &n))) return st;
        return push_int(pk, (int64_t)n);
    case 0x8a: return op_long(pk, 1); /* LONG1 */
    case 0x8b: return op_long(pk, 4); /* LONG4 */
    case 'G': return op_binfloat(pk);
    case 'X': /* BINUNICODE */
        if ((st = read_len(pk, 4, 0, &n))) return st;
        return push_bytes(pk, OCTIC_PK_STR, n);
    case 0x8c: /* SHORT_BINUNICODE */
        if ((st = read_len(pk, 1, 0, &n))) return st;
        return push_bytes(pk, OCTIC_PK_STR, n);
    case 0x8d: /* BINUNICODE8 */
        if ((st = read_len(pk, 8, 0, &n))) return st;
        return push_bytes(pk, OCTIC_PK_STR, n);
    case 'T': /* BINSTRING (protocol 1 str, decoded as text by Python 3) */
        if ((st = read_len(pk, 4, 1, &n))) return st;
        return push_bytes(pk, OCTIC_PK_STR, n);
    case 'U': /* SHORT_BINSTRING */
        if ((st = read_len(pk, 1, 0, &n))) return st;
        return push_bytes(pk, OCTIC_PK_STR, n);
    case 'B': /* BINBYTES */
        if ((st = read_len(pk, 4, 0, &n))) return st;
        return push_bytes(pk, OCTIC_PK_BYTES, n);
    case 'C': /* SHORT_BINBYTES */
        if ((st = read_len(pk, 1, 0, &n))) return st;
        return push_bytes(pk, OCTIC_PK_BYTES, n);
    case 0x8e: /* BINBYTES8 */
    case 0x96: /* BYTEARRAY8 */
        if ((st = read_len(pk, 8, 0, &n))) return st;
        return push_bytes(pk, OCTIC_PK_BYTES, n);
    case ')': return op_tuple_n(pk, 0); /* EMPTY_TUPLE */
    case 0x85: return op_tuple_n(pk, 1); /* TUPLE1 */
    case 0x86: return op_tuple_n(pk, 2); /* TUPLE2 */
    case 0x87: return op_tuple_n(pk, 3); /* TUPLE3 */
    case 't': return op_collect(pk, OCTIC_PK_TUPLE);
    case ']': return push(pk, new_value(pk, OCTIC_PK_LIST)); /* EMPTY_LIST */
    case 'l': return op_collect(pk, OCTIC_PK_LIST);          /* LIST */
    case 'a': return op_add_n(pk, 1, OCTIC_PK_LIST);         /* APPEND */
    case 'e': return op_add_marked(pk, OCTIC_PK_LIST);       /* APPENDS */
    case '}': return push(pk, new_value(pk, OCTIC_PK_DICT)); /* EMPTY_DICT */
    case 'd': return op_collect(pk, OCTIC_PK_DICT);          /* DICT */
    case 's': return op_add_n(pk, 2, OCTIC_PK_DICT);         /* SETITEM */
    case 'u': return op_add_marked(pk, OCTIC_PK_DICT);       /* SETITEMS */
    case 0x8f: return push(pk, new_value(pk, OCTIC_PK_LIST)); /* EMPTY_SET */
    case 0x90: return op_add_marked(pk, OCTIC_PK_LIST);       /* ADDITEMS */
    case 0x91: return op_collect(pk, OCTIC_PK_LIST);          /* FROZENSET */
    case 'q': /* BINPUT */
        if ((st = fixed(pk, 1, &n))) return st;
        return memo_put(pk, n);
    case 'r': /* LONG_BINPUT */
        if ((st = fixed(pk, 4, &n))) return st;
        return memo_put(pk, n);
    case 0x94: return memo_put(pk, pk->memo_count); /* MEMOIZE */
    case 'h': /* BINGET */
        if ((st = fixed(pk, 1, &n))) return st;
        return memo_get(pk, n);
    case 'j': /* LONG_BINGET */
        if ((st = fixed(pk, 4, &n))) return st;
        return memo_get(pk, n);
    case 'c': return op_global(pk);
    case 0x93: return op_stack_global(pk);
    case 'R': return op_reduce(pk);
    case 0x81: return op_newobj(pk, 0); /* NEWOBJ */
    case 0x92: return op_newobj(pk, 1); /* NEWOBJ_EX */
    case 'o': return op_obj(pk);        /* OBJ */
    case 'b': return op_build(pk);      /* BUILD */
    case 'Q': return op_binpersid(pk);
    case 0x82: /* EXT1, EXT2, EXT4: copyreg extension codes */
    case 0x83:
    case 0x84:
        if ((st = fixed(pk, pk->op == 0x82 ? 1 : pk->op == 0x83 ? 2 : 4, &n))) return st;
        return push_opaque(pk, "extension object");
    case 0x98: /* READONLY_BUFFER: no-op on the top item */
        return top(pk, &v);
    case 0x97: /* NEXT_BUFFER */
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: pickle uses out-of-band buffers (NEXT_BUFFER at offset %zu), "
                          "which torch.save never writes",
                          pk->name, pk->op_pos);
    default:
        return octic_fail(OCTIC_ERR_FORMAT, "%s: unknown pickle opcode 0x%02x at offset %zu",
                          pk->name, pk->op, pk->op_pos);
    }
}

void octic_pickle_free(octic_pickle *pk) {
    if (!pk) return;
    for (size_t i = 0; i < pk->n_all; i++) {
        octic_pk_value *v = pk->all[i];
        if (!v->s_borrowed) free(v->s);
        free(v->items);
        free(v);
    }
    free(pk->all);
    free(pk->stack);
    free(pk->marks);
    free(pk->memo);
    free(pk);
}

octic_status octic_pickle_load(const uint8_t *buf, size_t len, const char *name,
                               octic_pickle **out, octic_pk_value **root) {
    *out = NULL;
    *root = NULL;
    octic_pickle *pk = calloc(1, sizeof *pk);
    if (!pk) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", name);
    pk->buf = buf;
    pk->len = len;
    pk->name = name;
    pk->copy_budget = 4 * len + 4096;
    int done = 0;
    octic_status st = OCTIC_OK;
    while (!st && !done) {
        if (pk->pos >= pk->len) {
            st = octic_fail(OCTIC_ERR_FORMAT,
                            "%s: truncated pickle: ended at offset %zu without a STOP opcode",
                            name, pk->len);
            break;
        }
        st = step(pk, root, &done);
    }
    if (st) {
        octic_pickle_free(pk);
        *root = NULL;
        return st;
    }
    *out = pk;
    return OCTIC_OK;
}

/* --- queries ----------------------------------------------------------------- */

octic_pk_value *octic_pk_dict_get(const octic_pk_value *dict, const char *key) {
    if (!dict || dict->kind != OCTIC_PK_DICT) return NULL;
    for (size_t i = dict->n / 2; i-- > 0;)
        if (is_str(dict->items[2 * i], key)) return dict->items[2 * i + 1];
    return NULL;
}

const char *octic_pk_kind_name(octic_pk_kind kind) {
    switch (kind) {
    case OCTIC_PK_NONE: return "None";
    case OCTIC_PK_BOOL: return "bool";
    case OCTIC_PK_INT: return "int";
    case OCTIC_PK_FLOAT: return "float";
    case OCTIC_PK_STR: return "str";
    case OCTIC_PK_BYTES: return "bytes";
    case OCTIC_PK_TUPLE: return "tuple";
    case OCTIC_PK_LIST: return "list";
    case OCTIC_PK_DICT: return "dict";
    case OCTIC_PK_GLOBAL: return "global";
    case OCTIC_PK_OPAQUE: return "object";
    case OCTIC_PK_STORAGE: return "storage";
    case OCTIC_PK_TENSOR: return "tensor";
    }
    return "?";
}

const char *octic_dtype_name(octic_dtype dt) {
    switch (dt) {
    case OCTIC_DT_F32: return "float32";
    case OCTIC_DT_F16: return "float16";
    case OCTIC_DT_BF16: return "bfloat16";
    case OCTIC_DT_F64: return "float64";
    case OCTIC_DT_I64: return "int64";
    case OCTIC_DT_I32: return "int32";
    case OCTIC_DT_I16: return "int16";
    case OCTIC_DT_I8: return "int8";
    case OCTIC_DT_U8: return "uint8";
    case OCTIC_DT_BOOL: return "bool";
    case OCTIC_DT_C64: return "complex64";
    case OCTIC_DT_C128: return "complex128";
    case OCTIC_DT_UNKNOWN: break;
    }
    return "unknown";
}

size_t octic_dtype_size(octic_dtype dt) {
    switch (dt) {
    case OCTIC_DT_F32: case OCTIC_DT_I32: return 4;
    case OCTIC_DT_F16: case OCTIC_DT_BF16: case OCTIC_DT_I16: return 2;
    case OCTIC_DT_F64: case OCTIC_DT_I64: case OCTIC_DT_C64: return 8;
    case OCTIC_DT_C128: return 16;
    case OCTIC_DT_I8: case OCTIC_DT_U8: case OCTIC_DT_BOOL: return 1;
    case OCTIC_DT_UNKNOWN: break;
    }
    return 0;
}
