#ifndef ATTACHE_CESPEAK_SHIM_H
#define ATTACHE_CESPEAK_SHIM_H
#include <espeak-ng/speak_lib.h>

// The phoneme mnemonic of a phoneme event: eSpeak packs up to 8 characters, not always
// NUL-terminated, into a union member that Swift sees as a tuple.
static inline void attache_espeak_phoneme_name(const espeak_EVENT *event, char out[9]) {
  for (int i = 0; i < 8; i++) out[i] = event->id.string[i];
  out[8] = 0;
}
#endif
