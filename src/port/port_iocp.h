/* port_iocp.h: what the IOCP backend offers the other Windows files of src/port. */
#ifndef MP_PORT_IOCP_H
#define MP_PORT_IOCP_H

#include <winsock2.h>
#include <windows.h>

#include "port/port.h"

/* Associate handle (a socket or an overlapped file) with port: each of its
 * overlapped operations then ends with a packet carrying key. Lua thread
 * (any thread that owns the handle). Returns 0 or an MP_E… code. */
int mp__iocp_associate(mp_port *port, HANDLE handle, uintptr_t key);
/* Post op's completion with result: for an op that never reached the
 * kernel (DESIGN.md rule 6). The port refuses the post only while the
 * loop is being freed, when nothing is dispatched any more. Lua thread. */
void mp__iocp_complete_later(mp_port *port, mp_op *op, int result);
/* Whether the overlapped call (ReadFile, WSARecv, ...) that was to start
 * op queued op's packet. ok: what it returned; error: GetLastError (or
 * WSAGetLastError) right after it, when it failed. Yes if it succeeded or
 * is pending, and also if it ended at once with an NT *warning* status,
 * which the call reports as a failure but the I/O manager completes like
 * a success, packet and all: STATUS_BUFFER_OVERFLOW (ERROR_MORE_DATA,
 * WSAEMSGSIZE), a message or datagram longer than the buffer. An error
 * status queues nothing and leaves the OVERLAPPED's status as it was (the
 * caller zeroes it before the call). */
int mp__iocp_packet_queued(const mp_op *op, int ok, DWORD error);

#endif
