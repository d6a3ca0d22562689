/* sock_iocp.h: what the two Windows socket files share: sock_iocp.c (the
 * life of a socket on the port, TCP, the zero-byte read) and dgram_iocp.c
 * (UDP). Lua thread only, like all of sock.h. */
#ifndef MP_SOCK_IOCP_H
#define MP_SOCK_IOCP_H

#include "port/sock.h"

/* What the writer the kernel holds is doing (mp__sock.writer_kind). */
enum { MP__IOCP_WRITE_SEND = 1, MP__IOCP_WRITE_CONNECT, MP__IOCP_WRITE_SENDTO };

/* The last Winsock error of a call on s, as an MP_E… code. On a datagram
 * socket the two ICMP reports read as Linux names them: WSAECONNRESET
 * ("port unreachable") is MP_ECONNREFUSED, WSAENETRESET ("time exceeded")
 * MP_EHOSTUNREACH. */
int mp__iocp_sock_error(const mp__sock *s);
/* Make op the writer of kind (MP__IOCP_WRITE_…) that the kernel is about
 * to hold: its packet comes to sock_iocp.c first, which gives the issuer
 * the kernel's result. Then make the overlapped call, and tell
 * mp__iocp_writer_called how it returned. */
void mp__iocp_writer_start(mp__sock *s, mp_op *op, int kind);
/* The call that was to start the writer returned; failed: with an error.
 * Unless the error is WSA_IO_PENDING (it started), the op completes with
 * it, posted. */
void mp__iocp_writer_called(mp__sock *s, int failed);

/* dgram_iocp.c: what the zero-byte peek of a datagram socket ended with
 * (result: >= 0 or an MP_E… code) means for its reader: 0 when a datagram
 * waits, or an ICMP error that the next mp__sock_recvfrom reports; any
 * other error as it is. */
int mp__iocp_peek_result(mp__sock *s, int result);

#endif
