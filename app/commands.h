/* The subcommands of `octic`: each takes its arguments from its own name on
 * (argv[0] = "info", ...) and returns the process exit status. */
#ifndef OCTIC_COMMANDS_H
#define OCTIC_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_archs(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_equivariance(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
/* `octic eval`: evaluation protocols into the results database; `octic results`: read it. */
int cmd_eval(int argc, char **argv);
int cmd_results(int argc, char **argv);
/* `octic bench --data ROOT`: the data path (cmd_bench hands --data over to it). */
int cmd_bench_data(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
