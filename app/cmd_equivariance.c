/* octic equivariance: how far each block output is from commuting with the 8
 * symmetries of the square, measured on the user's images. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "equivariance.h"
#include "group.h"

static const char equivariance_usage[] =
    "usage: octic equivariance MODEL --input X.npy [--heads N] [--device D] [--json]\n"
    "\n"
    "Runs the model on the images X.npy [B, 3, S, S] and on their 8 rotations and\n"
    "mirrors, and prints for every block output (the embedded tokens, then after each\n"
    "block) and every group element g the relative error |f(g.x) - g.f(x)| / |f(x)|.\n"
    "Octic blocks are compared with g acting on tokens and channels; the standard blocks\n"
    "after the break only with the tokens permuted, so an invariant model shows how\n"
    "invariant its features are and a hybrid one how far from equivariant. The last row\n"
    "is the invariance error of the final class token, |cls(g.x) - cls(x)| / |cls(x)|.\n"
    "\n"
    "options:\n"
    "  --input X.npy     input images (float32, already normalized)\n"
    "  --heads N         number of attention heads (see 'octic info --help')\n"
    "  --json            print one JSON object\n"
    CLI_DEVICE_HELP;

/* Row i of the report: 0 = the embedded tokens, i = after block i-1. */
static void row_name(char *buf, size_t len, int i) {
    if (i == 0)
        snprintf(buf, len, "embedding");
    else
        snprintf(buf, len, "block %d", i - 1);
}

/* Rows 0..break_layer are octic outputs (the embedding too, for octic models). */
static int row_is_octic(const octic_equivariance_report *rep, int i) {
    return rep->break_layer > 0 && i <= rep->break_layer;
}

static const char *break_note(const octic_config *cfg) {
    return cfg->kind == OCTIC_KIND_INVARIANT ? "break: invariant map, then standard blocks"
                                             : "break: components concatenated, then standard blocks";
}

static void print_table(const char *path, const octic_config *cfg,
                        const octic_equivariance_report *rep, int B, int S) {
    printf("%s: %s %s, %d blocks, %d image%s of %d x %d\n", path, octic_family_name(cfg->family),
           octic_kind_name(cfg->kind), cfg->depth, B, B == 1 ? "" : "s", S, S);
    printf("relative error |f(g.x) - g.f(x)| / |f(x)|\n\n");
    printf("%-13s %-8s", "output", "");
    for (int g = 0; g < OCTIC_GROUP_ORDER; g++)
        printf(" %8s", octic_group_names[g]);
    printf("\n");
    for (int i = 0; i < rep->nblocks; i++) {
        char name[32];
        row_name(name, sizeof name, i);
        printf("%-13s %-8s", name, row_is_octic(rep, i) ? "octic" : "standard");
        for (int g = 0; g < OCTIC_GROUP_ORDER; g++)
            printf(" %8.1e", rep->block_err[i * OCTIC_GROUP_ORDER + g]);
        printf("\n");
        if (rep->break_layer > 0 && i == rep->break_layer && i + 1 < rep->nblocks)
            printf("---- %s ----\n", break_note(cfg));
    }
    printf("\n%-13s %-8s", "class token", "invar.");
    for (int g = 0; g < OCTIC_GROUP_ORDER; g++)
        printf(" %8.1e", rep->cls_err[g]);
    printf("\n(class token: |cls(g.x) - cls(x)| / |cls(x)|)\n");
}

static void print_errors_json(const double *err) {
    printf("[");
    for (int g = 0; g < OCTIC_GROUP_ORDER; g++)
        printf("%s%.6e", g ? ", " : "", err[g]);
    printf("]");
}

static void print_json(const char *path, const octic_config *cfg,
                       const octic_equivariance_report *rep, int B, int S) {
    printf("{\n  \"file\": ");
    cli_json_string(stdout, path);
    printf(",\n  \"family\": \"%s\",\n  \"kind\": \"%s\",\n", octic_family_name(cfg->family),
           octic_kind_name(cfg->kind));
    printf("  \"depth\": %d,\n  \"break_layer\": %d,\n  \"batch\": %d,\n  \"size\": %d,\n",
           cfg->depth, rep->break_layer, B, S);
    printf("  \"elements\": [");
    for (int g = 0; g < OCTIC_GROUP_ORDER; g++)
        printf("%s\"%s\"", g ? ", " : "", octic_group_names[g]);
    printf("],\n  \"blocks\": [\n");
    for (int i = 0; i < rep->nblocks; i++) {
        char name[32];
        row_name(name, sizeof name, i);
        printf("    {\"index\": %d, \"name\": \"%s\", \"octic\": %s, \"error\": ", i, name,
               row_is_octic(rep, i) ? "true" : "false");
        print_errors_json(&rep->block_err[i * OCTIC_GROUP_ORDER]);
        printf("}%s\n", i + 1 < rep->nblocks ? "," : "");
    }
    printf("  ],\n  \"cls_invariance_error\": ");
    print_errors_json(rep->cls_err);
    printf("\n}\n");
}

static int measure(const char *model_path, int heads, const char *input, int json) {
    octic_model *m = NULL;
    octic_array images;
    octic_equivariance_report rep;
    int B = 0, S = 0;
    memset(&rep, 0, sizeof rep);
    int rc = cli_load_model(model_path, heads, &m);
    if (rc != CLI_OK)
        return rc;
    if ((rc = cli_load_images(input, &images, &B, &S)) != CLI_OK) {
        octic_model_free(m);
        return rc;
    }
    if (octic_model_check_size(m, S) != OCTIC_OK)
        rc = cli_error("%s: %s", input, octic_last_error());
    else if (octic_equivariance_measure(m, images.data, B, S, &rep) != OCTIC_OK)
        rc = cli_engine_error();
    else if (json)
        print_json(model_path, octic_model_config(m), &rep, B, S);
    else
        print_table(model_path, octic_model_config(m), &rep, B, S);
    octic_equivariance_report_free(&rep);
    octic_array_free(&images);
    octic_model_free(m);
    return rc;
}

int cmd_equivariance(int argc, char **argv) {
    const char *heads_text = NULL, *input = NULL, *model = NULL, *device = NULL;
    int json = 0, help = 0, npos = 0, heads = 0;
    const cli_option opts[] = {
        {"--heads", &heads_text, NULL},
        {"--input", &input, NULL},
        {"--json", NULL, &json},
        {"--device", &device, NULL},
    };
    int rc = cli_parse(argc, argv, "equivariance", opts, 4, &model, 1, &npos, &help);
    if (rc != CLI_OK)
        return rc;
    if (help) {
        fputs(equivariance_usage, stdout);
        return CLI_OK;
    }
    if (!model)
        return cli_usage_error("equivariance", "missing MODEL");
    if (!input)
        return cli_usage_error("equivariance", "missing --input X.npy");
    if (heads_text &&
        (rc = cli_parse_int("equivariance", "--heads", heads_text, 1, 4096, &heads)) != CLI_OK)
        return rc;
    if ((rc = cli_select_device("equivariance", device, OCTIC_FLOAT32)) != CLI_OK)
        return rc;
    return measure(model, heads, input, json);
}
