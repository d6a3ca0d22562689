/* parts.h: which parts of mp the port of each OS carries so far, for the
 * code above the port (module.c, which opens the parts) that must not ask
 * for the OS itself. The loop, timers, TCP and files are everywhere. */
#ifndef MP_PARTS_H
#define MP_PARTS_H

#ifdef _WIN32
/* UDP (datagram ops in sock_iocp.c) on IOCP is not yet written: mp.udp is
 * absent there. */
#define MP_HAS_UDP 0
#else
#define MP_HAS_UDP 1
#endif

#endif
