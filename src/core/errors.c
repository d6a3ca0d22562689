/* errors.c: names and messages of the MP_E… codes, from the one list in moonport.h. */
#include "moonport.h"

const char *mp_err_name(int err) {
  switch (err) {
#define XX(name, msg)                                                                              \
  case MP_##name:                                                                                  \
    return #name;
    MP_ERRNO_MAP(XX)
#undef XX
  default:
    return "UNKNOWN";
  }
}

const char *mp_strerror(int err) {
  switch (err) {
#define XX(name, msg)                                                                              \
  case MP_##name:                                                                                  \
    return msg;
    MP_ERRNO_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}
