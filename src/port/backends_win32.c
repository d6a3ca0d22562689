/* backends_win32.c: the port backends of the Windows build, in order of preference. */
#include "backends.h"

/* IOCP is the model the port was drawn from, so it is the only one needed. */
const mp_port_backend *const mp__port_backends[] = {&mp__port_iocp, NULL};
