/* backends_linux.c: the Linux ports in order of preference. */
#include "port/backends.h"

const mp_port_backend *const mp__port_backends[] = {&mp__port_uring, &mp__port_epoll, NULL};
