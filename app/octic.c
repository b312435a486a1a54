/* octic: the command line of Octiscope.
 *
 *   octic info MODEL | --arch NAME | --list-archs   describe a model
 *   octic archs                                     the published architectures
 *   octic forward MODEL --input X.npy ...           run a forward pass
 *   octic convert MODEL.pth OUT.safetensors         convert a checkpoint
 *   octic equivariance MODEL --input X.npy          measure equivariance per block
 *
 * Each subcommand lives in its own cmd_*.c as one function taking the
 * arguments from its own name on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "octic-config.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "describe a checkpoint or a published architecture"},
    {"archs", cmd_archs, "list the published architectures"},
    {"forward", cmd_forward, "run a model on images (.npy, JPEG, PNG), write an output .npy"},
    {"convert", cmd_convert, "convert a checkpoint to safetensors"},
    {"equivariance", cmd_equivariance, "measure how equivariant each block is"},
    {"preprocess", cmd_preprocess, "decode an image and write the model's input as .npy"},
    {"dataset", cmd_dataset, "describe a data set folder, or check that every image decodes"},
    {"eval", cmd_eval, "k-NN, linear probe, segmentation: evaluate a model on a data set"},
    {"results", cmd_results, "list, show, compare and export the results database"},
    {"bench", cmd_bench, "measure the engine's speed on a published architecture"},
};

static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

static void print_usage(void) {
    printf("usage: octic COMMAND [ARGS]\n"
           "\n"
           "Octic-equivariant Vision Transformers (DeiT III and DINOv2; standard, hybrid and\n"
           "invariant): inspect checkpoints, run them, convert them, measure equivariance.\n"
           "\n"
           "commands:\n");
    for (int i = 0; i < n_commands; i++)
        printf("  %-14s %s\n", commands[i].name, commands[i].summary);
    printf("\n"
           "options:\n"
           "  -h, --help     this help; 'octic COMMAND --help' for a command's\n"
           "  --version      version and the BLAS the engine was built with\n");
}

static const command *find_command(const char *name) {
    for (int i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* "info, archs, ..." for error messages. */
static void command_names(char *buf, size_t len) {
    buf[0] = '\0';
    for (int i = 0; i < n_commands; i++) {
        strncat(buf, i ? ", " : "", len - strlen(buf) - 1);
        strncat(buf, commands[i].name, len - strlen(buf) - 1);
    }
}

static int run_command(int argc, char **argv) {
    char names[256];
    command_names(names, sizeof names);
    if (argc < 2) {
        cli_error("no command given (commands: %s; see 'octic --help')", names);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0 && find_command(argv[2])) {
            char help[] = "--help";
            char *sub_argv[] = {argv[2], help, NULL};
            return find_command(argv[2])->run(2, sub_argv);
        }
        print_usage();
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("octic %s (BLAS: %s)\n", OCTIC_VERSION, OCTIC_BLAS);
        return CLI_OK;
    }
    const command *cmd = find_command(name);
    if (!cmd) {
        cli_error("unknown command '%s' (commands: %s; see 'octic --help')", name, names);
        return CLI_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}

/* What went to stdout reached it, or the run fails: a table redirected to a
 * full disk is not a success with half a file. */
int main(int argc, char **argv) {
    int rc = run_command(argc, argv);
    errno = 0;
    int flushed = fflush(stdout) == 0, e = errno;
    if (!flushed || ferror(stdout)) {
        /* the reason when this flush failed; an earlier one's is gone */
        cli_error("writing the output failed: %s", !flushed && e ? strerror(e) : "an I/O error");
        if (rc == CLI_OK) rc = CLI_FAIL;
    }
    return rc;
}
