/* struct options → the config each part takes: only the command line knows
 * struct options, each part knows only its own config. */
#ifndef FT_CONFIGS_H
#define FT_CONFIGS_H

#include "cli/options.h"
#include "out/output.h"

/* Fills c from o; c's strings point into o's (into argv). */
void output_config_from(const struct options *o, struct output_config *c);

#endif /* FT_CONFIGS_H */
