/* errors.c: names and messages of the MP_E… codes, from the one list in moonport.h. */
#include "moonport.h"

const char *mp_err_name(int err) {
  return mp__err_name(err);
}

const char *mp_strerror(int err) {
  return mp__strerror(err);
}
