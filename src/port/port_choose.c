/* port_choose.c: pick the port backend: forced by name, else the first available. */
#include <stdlib.h>
#include <string.h>

#include "port/port.h"

const mp_port_backend *mp__port_choose(const char *force) {
  if (!force) force = getenv("MOONPORT_BACKEND");
  for (const mp_port_backend *const *b = mp__port_backends; *b; b++) {
    if (force && *force) {
      if (strcmp((*b)->name, force) == 0) return (*b)->available() ? *b : NULL;
    } else if ((*b)->available()) {
      return *b;
    }
  }
  return NULL;
}
