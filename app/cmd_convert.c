/* octic convert: a checkpoint (a torch.save .pth as published) to a
 * safetensors file that carries its own description (heads included), so it
 * loads without --heads and without the pickle reader. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char convert_usage[] =
    "usage: octic convert MODEL OUT.safetensors [--heads N]\n"
    "\n"
    "Loads MODEL (.pth as published, or .safetensors), checks every tensor against the\n"
    "inferred architecture, and writes the weights as float32 safetensors with the\n"
    "description (family, kind, depth, heads, ...) in its metadata. Tensors the loader\n"
    "ignores (dino_head., ibot_head., mask_token) are not written. OUT is written to a\n"
    "temporary file and renamed, so a failure never leaves a partial file.\n"
    "\n"
    "options:\n"
    "  --heads N      number of attention heads (see 'octic info --help')\n";

/* Builds the model from the checkpoint (validating every tensor), exports
 * its weights and writes them with the description. */
static int convert(const char *in_path, const char *out_path, int heads) {
    octic_tensor_set set, exported;
    octic_config cfg;
    octic_model *m = NULL;
    int rc = cli_load_checkpoint(in_path, heads, &set, &cfg);
    if (rc != CLI_OK)
        return rc;
    octic_tensor_set_init(&exported);
    if (octic_model_build(&set, &cfg, NULL, &m) != OCTIC_OK) {
        rc = cli_error("%s: %s", in_path, octic_last_error());
        goto done;
    }
    if (octic_model_export(m, &exported) != OCTIC_OK ||
        octic_config_to_meta(&cfg, &exported) != OCTIC_OK ||
        octic_safetensors_save(out_path, &exported) != OCTIC_OK) {
        rc = cli_engine_error();
        goto done;
    }
    printf("%s: %d tensors, %.2f M parameters (%s %s, %d blocks, %d heads)\n", out_path,
           exported.count, (double)octic_config_cost(&cfg, cfg.grid * cfg.patch).params / 1e6,
           octic_family_name(cfg.family), octic_kind_name(cfg.kind), cfg.depth, cfg.heads);
done:
    octic_tensor_set_free(&exported);
    octic_model_free(m);
    octic_tensor_set_free(&set);
    return rc;
}

int cmd_convert(int argc, char **argv) {
    const char *heads_text = NULL;
    const char *paths[2] = {NULL, NULL};
    int help = 0, npos = 0, heads = 0;
    const cli_option opts[] = {{"--heads", &heads_text, NULL}};
    int rc = cli_parse(argc, argv, "convert", opts, 1, paths, 2, &npos, &help);
    if (rc != CLI_OK)
        return rc;
    if (help) {
        fputs(convert_usage, stdout);
        return CLI_OK;
    }
    if (npos < 2)
        return cli_usage_error("convert", "missing %s", npos == 0 ? "MODEL and OUT.safetensors"
                                                                   : "OUT.safetensors");
    if (strcmp(paths[0], paths[1]) == 0)
        return cli_usage_error("convert", "MODEL and OUT must be different files");
    if (heads_text &&
        (rc = cli_parse_int("convert", "--heads", heads_text, 1, 4096, &heads)) != CLI_OK)
        return rc;
    return convert(paths[0], paths[1], heads);
}
