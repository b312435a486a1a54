#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* --- error lines ----------------------------------------------------------- */

/* Formats into one line: "octic: " + message, newlines and tabs as spaces. */
static void print_error_line(const char *suffix, const char *fmt, va_list ap) {
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    fprintf(stderr, "octic: %s%s\n", msg, suffix ? suffix : "");
    fflush(stderr);
}

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    print_error_line(NULL, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage_error(const char *command, const char *fmt, ...) {
    char suffix[128];
    snprintf(suffix, sizeof suffix, " (see 'octic %s --help')", command);
    va_list ap;
    va_start(ap, fmt);
    print_error_line(suffix, fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int cli_unknown_arch(const char *name) {
    const octic_arch *near = octic_arch_nearest(name);
    char hint[160] = "";
    if (near) snprintf(hint, sizeof hint, "; did you mean '%s'?", near->name);
    cli_error("unknown architecture '%s'%s ('octic archs' lists the %d published ones)", name, hint,
              octic_arch_count());
    return CLI_USAGE;
}

int cli_engine_error(void) {
    const char *msg = octic_last_error();
    return cli_error("%s", msg && *msg ? msg : "unknown engine error");
}

/* --- options --------------------------------------------------------------- */

static const cli_option *find_option(const cli_option *opts, int nopts, const char *arg,
                                     size_t name_len) {
    for (int i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == name_len && strncmp(opts[i].name, arg, name_len) == 0)
            return &opts[i];
    return NULL;
}

int cli_parse(int argc, char **argv, const char *command, const cli_option *opts, int nopts,
              const char **positional, int max_positional, int *npositional, int *help) {
    int only_positional = 0;
    *npositional = 0;
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int is_option = !only_positional && arg[0] == '-' && arg[1] != '\0';
        if (!is_option) {
            if (*npositional >= max_positional)
                return cli_usage_error(command, "unexpected argument '%s'", arg);
            positional[(*npositional)++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *help = 1;
            return CLI_OK;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const cli_option *opt = find_option(opts, nopts, arg, name_len);
        if (!opt)
            return cli_usage_error(command, "unknown option '%.*s'", (int)name_len, arg);
        if (!opt->value) {
            if (eq)
                return cli_usage_error(command, "option '%s' takes no value", opt->name);
            *opt->flag = 1;
            continue;
        }
        if (eq) {
            *opt->value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return cli_usage_error(command, "option '%s' needs a value", opt->name);
            *opt->value = argv[++i];
        }
    }
    return CLI_OK;
}

int cli_parse_int(const char *command, const char *option, const char *text, int min, int max,
                  int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max)
        return cli_usage_error(command, "%s expects an integer from %d to %d, got '%s'", option,
                               min, max, text);
    *out = (int)v;
    return CLI_OK;
}

/* --- signals ---------------------------------------------------------------- */

static atomic_int signals_cancel, signals_caught;

static void cancel_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

/* The one thread the two signals reach (blocked everywhere, taken here). */
static void *signal_waiter(void *unused) {
    (void)unused;
    sigset_t set;
    cancel_signals(&set);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0) continue;
        if (atomic_load(&signals_cancel)) {
            atomic_store(&signals_caught, sig);
            continue;
        }
        /* nothing to cancel: the default action, which ends the process */
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        signal(sig, SIG_DFL);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        raise(sig);
    }
    return NULL;
}

int cli_signals_start(void) {
    sigset_t set;
    cancel_signals(&set);
    int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t t;
    pthread_attr_t attr;
    if (!err) err = pthread_attr_init(&attr);
    if (!err) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&t, &attr, signal_waiter, NULL);
        pthread_attr_destroy(&attr);
    }
    if (err) {
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        return cli_error("cannot start the thread that takes Ctrl-C: %s", strerror(err));
    }
    return CLI_OK;
}

void cli_signals_cancel(int on) { atomic_store(&signals_cancel, on != 0); }

int cli_signals_caught(void) { return atomic_load(&signals_caught); }

/* --- JSON ------------------------------------------------------------------- */

/* Bytes of the well-formed UTF-8 sequence at c (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static int utf8_sequence(const unsigned char *c) {
    int n = *c < 0x80                 ? 1
            : *c >= 0xc2 && *c <= 0xdf ? 2
            : *c >= 0xe0 && *c <= 0xef ? 3
            : *c >= 0xf0 && *c <= 0xf4 ? 4
                                       : 0;
    for (int i = 1; i < n; i++)
        if ((c[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((*c == 0xe0 && c[1] < 0xa0) || (*c == 0xed && c[1] >= 0xa0))) return 0;
    if (n == 4 && ((*c == 0xf0 && c[1] < 0x90) || (*c == 0xf4 && c[1] >= 0x90))) return 0;
    return n;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        int n = utf8_sequence(c);
        if (n == 0) {
            /* a byte that is not UTF-8 (a file name is any bytes): escaped
             * as Python's surrogateescape does, "\udcff" for 0xff, so that
             * the output stays JSON and the byte can be recovered */
            fprintf(f, "\\udc%02x", *c);
            continue;
        }
        if (n > 1) {
            fwrite(c, 1, (size_t)n, f);
            c += n - 1;
            continue;
        }
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

/* --- files ------------------------------------------------------------------- */

/* The engine cannot know the number of heads of a checkpoint that is not one
 * of the published architectures; make sure the user learns about --heads. */
static int engine_error_with_heads_hint(const char *path) {
    const char *msg = octic_last_error();
    if (strstr(msg, "--heads"))
        return cli_engine_error();
    return cli_error("%s (the number of heads is not stored in %s: pass --heads N)", msg, path);
}

int cli_model_error(const char *path, int heads, octic_status st) {
    if (st == OCTIC_ERR_MISSING && heads == 0 && strstr(octic_last_error(), "heads"))
        return engine_error_with_heads_hint(path);
    return cli_engine_error();
}

int cli_load_checkpoint(const char *path, int heads, octic_tensor_set *set, octic_config *cfg) {
    octic_tensor_set_init(set);
    if (octic_checkpoint_load(path, set) != OCTIC_OK) {
        int rc = cli_engine_error();
        octic_tensor_set_free(set);
        return rc;
    }
    memset(cfg, 0, sizeof *cfg);
    octic_status st = octic_config_infer(set, heads, cfg);
    if (st == OCTIC_OK)
        return CLI_OK;
    /* what the checkpoint lacks, said of the file, as loading a model says it */
    if (!strstr(octic_last_error(), path)) octic_fail_prefix(st, path);
    int rc = cli_model_error(path, heads, st);
    octic_tensor_set_free(set);
    return rc;
}

static const octic_backend *chosen_backend;

int cli_select_device(const char *command, const char *device, octic_precision precision) {
    char notice[512];
    const octic_backend *be = octic_backend_for(device ? device : "auto", precision, notice, sizeof notice);
    if (!be) return cli_usage_error(command, "%s", octic_last_error());
    if (notice[0]) {
        fprintf(stderr, "octic: %s\n", notice);
        fflush(stderr);
    }
    chosen_backend = be;
    return CLI_OK;
}

const octic_backend *cli_device(void) {
    if (!chosen_backend) chosen_backend = octic_backend_for("auto", OCTIC_FLOAT32, NULL, 0);
    return chosen_backend;
}

int cli_load_model(const char *path, int heads, octic_model **out) {
    *out = NULL;
    octic_status st = octic_model_load_on(path, heads, cli_device(), out);
    return st == OCTIC_OK ? CLI_OK : cli_model_error(path, heads, st);
}

int cli_load_images(const char *path, octic_array *images, int *B, int *S) {
    memset(images, 0, sizeof *images);
    if (octic_npy_load(path, images) != OCTIC_OK)
        return cli_engine_error();
    const int64_t *s = images->shape;
    if (images->ndim != 4 || s[0] < 1 || s[1] != 3 || s[2] != s[3] || s[2] < 1 || s[0] > INT_MAX ||
        s[2] > INT_MAX) {
        char shape[128];
        octic_shape_str(shape, sizeof shape, s, images->ndim);
        octic_array_free(images);
        return cli_error("%s: expected float32 images of shape [B, 3, S, S], found %s", path,
                         shape);
    }
    *B = (int)s[0];
    *S = (int)s[2];
    return CLI_OK;
}
