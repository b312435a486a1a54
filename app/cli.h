/* Shared helpers of the `octic` command line: option parsing, error lines,
 * JSON output, and loading the files every subcommand takes.
 *
 * Every failure is reported as exactly one line "octic: <message>" on stderr
 * and the subcommand returns a non-zero exit status. */
#ifndef OCTIC_CLI_H
#define OCTIC_CLI_H

#include <stdio.h>

#include "checkpoint.h"
#include "device.h"
#include "model.h"

/* Ctrl-C (SIGINT) and SIGTERM for a command that cancels its work on them.
 * No signal handler may run on a thread of the engine: oneDNN 2.x's JIT
 * sgemm points the stack pointer into a heap buffer while it runs (oneDNN
 * issue 4845, fixed in 3.11), so a handler's frame lands in the heap and
 * corrupts it; and a handler interrupts the system calls of the thread it
 * runs on (SQLite's among them). cli_signals_start blocks both signals in
 * the calling thread, which every thread started after it inherits, and
 * starts one thread that takes them with sigwait. Call it before anything
 * starts a thread (the model, the BLAS, the loaders, CUDA). */
int cli_signals_start(void);
/* on = 1: a signal is recorded (cli_signals_caught) for the command to
 * cancel; on = 0 (the start): it has its default action (the process ends). */
void cli_signals_cancel(int on);
/* The signal recorded while cancelling was on, or 0. */
int cli_signals_caught(void);

/* Exit statuses. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* One option of a subcommand. `value` options take an argument ("--heads 2"
 * or "--heads=2"), stored in *value; flags set *flag to 1. */
typedef struct {
    const char *name;   /* "--heads" */
    const char **value; /* NULL for a flag */
    int *flag;          /* NULL for an option with a value */
} cli_option;

/* Parses argv[1..argc-1] of a subcommand (argv[0] is its name). Options may
 * appear anywhere; "--" ends them. Positional arguments are collected in
 * order into positional[0..max_positional-1], their count in *npositional.
 * "--help"/"-h" sets *help and stops. Returns CLI_OK or prints the error and
 * returns CLI_USAGE. */
int cli_parse(int argc, char **argv, const char *command, const cli_option *opts, int nopts,
              const char **positional, int max_positional, int *npositional, int *help);

/* Prints "octic: <message>" (printf-style) as one line on stderr; returns
 * CLI_FAIL. Newlines inside the message are turned into spaces. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with CLI_USAGE, followed on the same line by a pointer to
 * "octic <command> --help". */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the engine's last error (octic_last_error()) as the one line. */
int cli_engine_error(void);
/* "unknown architecture 'NAME'" with the published name it most likely means
 * (octic_arch_nearest) and where the list is; returns CLI_USAGE. */
int cli_unknown_arch(const char *name);

/* Parses a decimal integer option value in [min, max]. */
int cli_parse_int(const char *command, const char *option, const char *text, int min, int max,
                  int *out);

/* Writes s as a JSON string literal (with the quotes). */
void cli_json_string(FILE *f, const char *s);

/* Loads a checkpoint, infers its description (heads as octic_config_infer:
 * 0 = unknown) and, if the engine does not know the heads, returns an error
 * that tells the user to pass --heads. */
int cli_load_checkpoint(const char *path, int heads, octic_tensor_set *set, octic_config *cfg);

/* octic_model_load with the same --heads hint, on the device chosen with
 * cli_select_device (by default "auto": CUDA when usable, else the CPU). */
int cli_load_model(const char *path, int heads, octic_model **out);
/* The error line of a failed octic_model_load(_on) of path (status st), with
 * the --heads hint when the heads were not known. */
int cli_model_error(const char *path, int heads, octic_status st);

/* --device auto|cpu|cuda of the commands that run a model: picks the backend
 * cli_load_model builds on (precision as octic_backend_for). Asked for cuda
 * where it cannot run, prints a one-line notice on stderr and takes the CPU.
 * An unknown name is a usage error. */
int cli_select_device(const char *command, const char *device, octic_precision precision);
/* The chosen backend (resolving "auto" on first use). */
const octic_backend *cli_device(void);

/* The --device line of a command's --help. */
#define CLI_DEVICE_HELP "  --device D        auto (default: CUDA when a usable GPU is present), cpu or cuda\n"

/* Loads input images from a .npy file: float32 [B, 3, S, S]. */
int cli_load_images(const char *path, octic_array *images, int *B, int *S);

#endif
