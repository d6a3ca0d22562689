/* errno_win32.h: GetLastError and WSAGetLastError codes turned into MP_E…
 * codes (the IOCP backend only), so that a script sees the same names as
 * on Linux. */
#ifndef MP_ERRNO_WIN32_H
#define MP_ERRNO_WIN32_H

#include <winsock2.h>
#include <windows.h>

#include "moonport.h"

static inline int mp__from_win_error(DWORD e) {
  switch (e) {
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_NO_SYSTEM_RESOURCES:
    return MP_ENOMEM;
  case ERROR_INVALID_PARAMETER:
  case ERROR_INVALID_HANDLE:
  case WSAEINVAL:
  case WSAEFAULT:
  case WSAENOTSOCK:
    return MP_EINVAL;
  case ERROR_OPERATION_ABORTED:
  case WSAEINTR:
    return MP_ECANCELED;
  case WAIT_TIMEOUT:
  case ERROR_TIMEOUT:
  case ERROR_SEM_TIMEOUT:
  case WSAETIMEDOUT:
    return MP_ETIMEDOUT;
  case ERROR_TOO_MANY_OPEN_FILES:
  case WSAEMFILE:
    return MP_EMFILE;
  case ERROR_ACCESS_DENIED:
    return MP_EPERM;
  case WSAEACCES:
    return MP_EACCES;
  case ERROR_BUSY:
    return MP_EBUSY;
  case ERROR_CALL_NOT_IMPLEMENTED:
  case ERROR_NOT_SUPPORTED:
  case WSAEOPNOTSUPP:
  case WSAENOPROTOOPT:
    return MP_ENOSYS;
  case ERROR_ABANDONED_WAIT_0: /* the port handle was closed under a waiter */
    return MP_ECLOSED;
  case WSAEWOULDBLOCK:
    return MP_EAGAIN;
  case WSAEADDRINUSE:
    return MP_EADDRINUSE;
  case WSAEADDRNOTAVAIL:
    return MP_EADDRNOTAVAIL;
  case WSAEAFNOSUPPORT:
  case WSAEPFNOSUPPORT:
    return MP_EAFNOSUPPORT;
  case ERROR_CONNECTION_ABORTED:
  case WSAECONNABORTED:
    return MP_ECONNABORTED;
  case ERROR_CONNECTION_REFUSED:
  case WSAECONNREFUSED:
    return MP_ECONNREFUSED;
  case ERROR_NETNAME_DELETED: /* what an overlapped op on a reset connection ends with */
  case WSAECONNRESET:
  case WSAENETRESET:
    return MP_ECONNRESET;
  case ERROR_HOST_UNREACHABLE:
  case WSAEHOSTUNREACH:
    return MP_EHOSTUNREACH;
  case ERROR_NETWORK_UNREACHABLE:
  case WSAENETUNREACH:
    return MP_ENETUNREACH;
  case WSAENOBUFS:
    return MP_ENOBUFS;
  case WSAENOTCONN:
    return MP_ENOTCONN;
  case WSAESHUTDOWN:
    return MP_EPIPE;
  case WSAEMSGSIZE:
    return MP_EMSGSIZE;
  default:
    return MP_UNKNOWN;
  }
}

#endif
