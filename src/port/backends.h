/* backends.h: the port backends each OS build may list in mp__port_backends. */
#ifndef MP_PORT_BACKENDS_H
#define MP_PORT_BACKENDS_H

#include "port.h"

/* Defined in port_iocp.c (Windows), port_uring.c and port_epoll.c (Linux).
 * Only the ones the build compiles exist; backends_<os>.c names those. */
extern const mp_port_backend mp__port_iocp, mp__port_uring, mp__port_epoll;

#endif
