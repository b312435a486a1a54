/* octic info: what a checkpoint or a published architecture is, and what it
 * costs (parameters, multiply-adds). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

#define REFERENCE_SIZE 224 /* the published figures are at 224 x 224 */

static const char info_usage[] =
    "usage: octic info MODEL [--heads N] [--json]\n"
    "       octic info --arch NAME [--json]\n"
    "       octic info --list-archs [--json]\n"
    "\n"
    "Describes a checkpoint (.pth as published, or .safetensors) or one of the published\n"
    "architectures: family, kind, depth, width, heads, patch, grid, break layer, invariant,\n"
    "registers, classes, parameters and GFLOPs (one multiply-add = one FLOP) at 224 x 224\n"
    "and, when it differs, at the training size. For a checkpoint it also says where the\n"
    "state dict was found and which tensors the loader ignored.\n"
    "\n"
    "options:\n"
    "  --heads N      number of attention heads (not stored in a .pth; needed unless the\n"
    "                 model is one of the published architectures)\n"
    "  --arch NAME    a published architecture instead of a file (see 'octic archs')\n"
    "  --list-archs   list the published architectures\n"
    "  --json         print one JSON object\n";

static const char archs_usage[] =
    "usage: octic archs [--json]\n"
    "\n"
    "Lists the published architectures with their parameters and GFLOPs at 224 x 224.\n"
    "\n"
    "options:\n"
    "  --json         print one JSON object {\"archs\": [...]}\n";

/* --- what a description says ------------------------------------------------ */

/* A description and how to count its cost: a published architecture is
 * counted as the published code builds it by name (octic_arch_cost, the
 * "params (code)" of model.md), a checkpoint by what it holds. */
typedef struct {
    const octic_config *cfg;
    const octic_arch *arch; /* set for --arch / the list; NULL for a checkpoint */
} description;

static octic_cost cost_at(const description *d, int S) {
    return d->arch ? octic_arch_cost(d->arch, S) : octic_config_cost(d->cfg, S);
}

/* Whether the model takes S x S images: octic models need a multiple of twice
 * the patch size (the lift works on pairs of patches), others of the patch. */
static int takes_size(const octic_config *cfg, int S) {
    int step = cfg->kind == OCTIC_KIND_STANDARD ? cfg->patch : 2 * cfg->patch;
    return step > 0 && S % step == 0;
}

static double gflops_at(const description *d, int S) { return (double)cost_at(d, S).macs / 1e9; }

static int train_size(const octic_config *cfg) { return cfg->grid * cfg->patch; }

static int octic_blocks(const octic_config *cfg) {
    return cfg->kind == OCTIC_KIND_STANDARD ? 0 : cfg->break_layer;
}

static void print_cost_text(const description *d) {
    octic_cost cost = cost_at(d, REFERENCE_SIZE);
    int S = train_size(d->cfg);
    printf("  %-14s %.2f M (%lld)\n", "parameters", (double)cost.params / 1e6,
           (long long)cost.params);
    if (takes_size(d->cfg, REFERENCE_SIZE))
        printf("  %-14s %.2f at %d x %d\n", "GFLOPs", gflops_at(d, REFERENCE_SIZE),
               REFERENCE_SIZE, REFERENCE_SIZE);
    if (S != REFERENCE_SIZE && takes_size(d->cfg, S))
        printf("  %-14s %.4g at %d x %d (training size)\n", "GFLOPs", gflops_at(d, S), S, S);
}

static void print_config_text(const description *d) {
    const octic_config *cfg = d->cfg;
    int S = train_size(cfg);
    printf("  %-14s %s\n", "family", octic_family_name(cfg->family));
    printf("  %-14s %s\n", "kind", octic_kind_name(cfg->kind));
    if (cfg->kind == OCTIC_KIND_STANDARD)
        printf("  %-14s %d blocks\n", "depth", cfg->depth);
    else
        printf("  %-14s %d blocks (%d octic, then %d standard)\n", "depth", cfg->depth,
               octic_blocks(cfg), cfg->depth - octic_blocks(cfg));
    printf("  %-14s %d\n", "width", cfg->dim);
    if (cfg->heads > 0)
        printf("  %-14s %d (head dim %d)\n", "heads", cfg->heads, cfg->dim / cfg->heads);
    else
        printf("  %-14s unknown\n", "heads");
    printf("  %-14s %d\n", "patch", cfg->patch);
    printf("  %-14s %d x %d (trained at %d x %d)\n", "grid", cfg->grid, cfg->grid, S, S);
    if (cfg->kind == OCTIC_KIND_STANDARD)
        printf("  %-14s none (standard ViT)\n", "break layer");
    else
        printf("  %-14s %d (after block %d)\n", "break layer", cfg->break_layer,
               cfg->break_layer - 1);
    printf("  %-14s %s\n", "invariant", octic_invariant_name(cfg->invariant));
    printf("  %-14s %d\n", "registers", cfg->registers);
    if (cfg->classes > 0)
        printf("  %-14s %d\n", "classes", cfg->classes);
    else
        printf("  %-14s none (backbone without a head)\n", "classes");
    printf("  %-14s %d\n", "MLP hidden", cfg->mlp_hidden);
    if (cfg->no_layer_scale) printf("  %-14s none in the standard blocks (ls1, ls2 absent)\n", "layer scale");
    print_cost_text(d);
}

/* The fields shared by every JSON description, each followed by ",\n". */
static void print_config_json(const description *d, const char *indent) {
    const octic_config *cfg = d->cfg;
    octic_cost cost = cost_at(d, REFERENCE_SIZE);
    int S = train_size(cfg);
    printf("%s\"family\": \"%s\",\n", indent, octic_family_name(cfg->family));
    printf("%s\"kind\": \"%s\",\n", indent, octic_kind_name(cfg->kind));
    printf("%s\"depth\": %d,\n", indent, cfg->depth);
    printf("%s\"octic_blocks\": %d,\n", indent, octic_blocks(cfg));
    printf("%s\"width\": %d,\n", indent, cfg->dim);
    printf("%s\"heads\": %d,\n", indent, cfg->heads);
    printf("%s\"patch\": %d,\n", indent, cfg->patch);
    printf("%s\"grid\": %d,\n", indent, cfg->grid);
    printf("%s\"train_size\": %d,\n", indent, S);
    printf("%s\"break_layer\": %d,\n", indent, cfg->break_layer);
    printf("%s\"invariant\": \"%s\",\n", indent, octic_invariant_name(cfg->invariant));
    printf("%s\"registers\": %d,\n", indent, cfg->registers);
    printf("%s\"classes\": %d,\n", indent, cfg->classes);
    printf("%s\"mlp_hidden\": %d,\n", indent, cfg->mlp_hidden);
    printf("%s\"layer_scale\": %s,\n", indent, cfg->no_layer_scale ? "false" : "true");
    printf("%s\"params\": %lld,\n", indent, (long long)cost.params);
    printf("%s\"params_m\": %.4f,\n", indent, (double)cost.params / 1e6);
    printf("%s\"gflops_size\": %d,\n", indent, REFERENCE_SIZE);
    if (takes_size(cfg, REFERENCE_SIZE))
        printf("%s\"gflops\": %.4f,\n", indent, gflops_at(d, REFERENCE_SIZE));
    else
        printf("%s\"gflops\": null,\n", indent);
    if (takes_size(cfg, S))
        printf("%s\"train_gflops\": %.6g,\n", indent, gflops_at(d, S));
    else
        printf("%s\"train_gflops\": null,\n", indent);
}

/* --- info --arch / --list-archs --------------------------------------------- */

static int info_arch(const char *name, int json) {
    const octic_arch *arch = octic_arch_find(name);
    if (!arch) return cli_unknown_arch(name);
    description d = {&arch->config, arch};
    if (json) {
        printf("{\n  \"arch\": ");
        cli_json_string(stdout, arch->name);
        printf(",\n  \"title\": ");
        cli_json_string(stdout, arch->title);
        printf(",\n");
        print_config_json(&d, "  ");
        printf("  \"source\": \"published architecture\"\n}\n");
        return CLI_OK;
    }
    printf("%s: %s\n", arch->name, arch->title);
    print_config_text(&d);
    return CLI_OK;
}

static int list_archs(int json) {
    int n = octic_arch_count();
    if (json) {
        printf("{\n  \"archs\": [\n");
        for (int i = 0; i < n; i++) {
            const octic_arch *a = octic_arch_get(i);
            description d = {&a->config, a};
            printf("    {\"name\": ");
            cli_json_string(stdout, a->name);
            printf(", \"title\": ");
            cli_json_string(stdout, a->title);
            printf(", \"params\": %lld, \"gflops\": %.4f}%s\n",
                   (long long)cost_at(&d, REFERENCE_SIZE).params, gflops_at(&d, REFERENCE_SIZE),
                   i + 1 < n ? "," : "");
        }
        printf("  ]\n}\n");
        return CLI_OK;
    }
    printf("%-34s %-30s %10s %8s\n", "name", "model", "params", "GFLOPs");
    for (int i = 0; i < n; i++) {
        const octic_arch *a = octic_arch_get(i);
        description d = {&a->config, a};
        printf("%-34s %-30s %8.2f M %8.1f\n", a->name, a->title,
               (double)cost_at(&d, REFERENCE_SIZE).params / 1e6, gflops_at(&d, REFERENCE_SIZE));
    }
    printf("(GFLOPs: multiply-adds of one forward pass at %d x %d)\n", REFERENCE_SIZE,
           REFERENCE_SIZE);
    return CLI_OK;
}

/* --- info MODEL ---------------------------------------------------------------- */

static void print_checkpoint_text(const char *path, const octic_tensor_set *set,
                                  const octic_config *cfg) {
    const octic_arch *arch = octic_arch_match(cfg);
    printf("%s: %s\n", path, arch ? arch->title : "not one of the published architectures");
    if (arch)
        printf("  %-14s %s\n", "architecture", arch->name);
    if (set->source_key)
        printf("  %-14s under \"%s\"\n", "state dict", set->source_key);
    else
        printf("  %-14s at the top level\n", "state dict");
    printf("  %-14s %d\n", "tensors", set->count);
    if (set->n_ignored > 0) {
        enum { SHOWN = 4 };
        printf("  %-14s %d (", "ignored", set->n_ignored);
        for (int i = 0; i < set->n_ignored && i < SHOWN; i++)
            printf("%s%s", i ? ", " : "", set->ignored[i]);
        printf("%s)\n", set->n_ignored > SHOWN ? ", ..." : "");
    } else {
        printf("  %-14s none\n", "ignored");
    }
    description d = {cfg, NULL};
    print_config_text(&d);
}

static void print_checkpoint_json(const char *path, const octic_tensor_set *set,
                                  const octic_config *cfg) {
    const octic_arch *arch = octic_arch_match(cfg);
    printf("{\n  \"file\": ");
    cli_json_string(stdout, path);
    printf(",\n  \"arch\": ");
    if (arch)
        cli_json_string(stdout, arch->name);
    else
        printf("null");
    printf(",\n  \"source_key\": ");
    if (set->source_key)
        cli_json_string(stdout, set->source_key);
    else
        printf("null");
    printf(",\n  \"tensors\": %d,\n", set->count);
    description d = {cfg, NULL};
    print_config_json(&d, "  ");
    printf("  \"ignored\": [");
    for (int i = 0; i < set->n_ignored; i++) {
        printf("%s", i ? ", " : "");
        cli_json_string(stdout, set->ignored[i]);
    }
    printf("]\n}\n");
}

static int info_checkpoint(const char *path, int heads, int json) {
    octic_tensor_set set;
    octic_config cfg;
    int rc = cli_load_checkpoint(path, heads, &set, &cfg);
    if (rc != CLI_OK)
        return rc;
    if (json)
        print_checkpoint_json(path, &set, &cfg);
    else
        print_checkpoint_text(path, &set, &cfg);
    octic_tensor_set_free(&set);
    return CLI_OK;
}

/* --- commands ------------------------------------------------------------------ */

int cmd_info(int argc, char **argv) {
    const char *heads_text = NULL, *arch = NULL, *model = NULL;
    int json = 0, list = 0, help = 0, npos = 0;
    const cli_option opts[] = {
        {"--heads", &heads_text, NULL},
        {"--arch", &arch, NULL},
        {"--json", NULL, &json},
        {"--list-archs", NULL, &list},
    };
    int rc = cli_parse(argc, argv, "info", opts, 4, &model, 1, &npos, &help);
    if (rc != CLI_OK)
        return rc;
    if (help) {
        fputs(info_usage, stdout);
        return CLI_OK;
    }
    if (list + (arch != NULL) + (model != NULL) != 1)
        return cli_usage_error("info", "give exactly one of MODEL, --arch NAME, --list-archs");
    if (list)
        return list_archs(json);
    if (arch) {
        if (heads_text)
            return cli_usage_error("info", "--heads applies to a checkpoint, not to --arch");
        return info_arch(arch, json);
    }
    int heads = 0;
    if (heads_text && (rc = cli_parse_int("info", "--heads", heads_text, 1, 4096, &heads)) != CLI_OK)
        return rc;
    return info_checkpoint(model, heads, json);
}

int cmd_archs(int argc, char **argv) {
    int json = 0, help = 0, npos = 0;
    const cli_option opts[] = {{"--json", NULL, &json}};
    int rc = cli_parse(argc, argv, "archs", opts, 1, NULL, 0, &npos, &help);
    if (rc != CLI_OK)
        return rc;
    if (help) {
        fputs(archs_usage, stdout);
        return CLI_OK;
    }
    return list_archs(json);
}
