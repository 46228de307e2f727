#ifndef ATTACHE_CPOCKETSPHINX_SHIM_H
#define ATTACHE_CPOCKETSPHINX_SHIM_H
// sphinxbase's err.h shadows the C library's <err.h> once its folder is on the include path:
// name it by its folder so the two never mix.
#include <sphinxbase/err.h>
#include <pocketsphinx.h>

// cmd_ln_init is variadic; build the decoder's configuration from an argv-style list instead.
static inline cmd_ln_t *attache_ps_config(int argc, char **argv) {
  return cmd_ln_parse_r(NULL, ps_args(), argc, argv, 1);
}
#endif
