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
  case WSAEACCES:
    return MP_EACCES;
  case ERROR_PRIVILEGE_NOT_HELD:
    return MP_EPERM;
  case ERROR_BUSY:
  case ERROR_SHARING_VIOLATION: /* another handle does not share the access asked for */
  case ERROR_LOCK_VIOLATION:
    return MP_EBUSY;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_BAD_NETPATH:
  case ERROR_BAD_NET_NAME:
    return MP_ENOENT;
  case ERROR_FILE_EXISTS:
  case ERROR_ALREADY_EXISTS:
    return MP_EEXIST;
  case ERROR_DIRECTORY: /* the directory name is invalid: a file is in the way */
    return MP_ENOTDIR;
  case ERROR_DIR_NOT_EMPTY:
    return MP_ENOTEMPTY;
  case ERROR_WRITE_PROTECT:
    return MP_EROFS;
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
    return MP_ENOSPC;
  case ERROR_FILE_TOO_LARGE:
    return MP_EFBIG;
  case ERROR_FILENAME_EXCED_RANGE:
  case ERROR_BUFFER_OVERFLOW:
    return MP_ENAMETOOLONG;
  case ERROR_CANT_RESOLVE_FILENAME: /* a loop of symbolic links */
    return MP_ELOOP;
  case ERROR_NOT_SAME_DEVICE:
    return MP_EXDEV;
  case ERROR_NEGATIVE_SEEK:
  case ERROR_INVALID_NAME:
  case ERROR_NO_UNICODE_TRANSLATION:
    return MP_EINVAL;
  case ERROR_CRC:
  case ERROR_IO_DEVICE:
  case ERROR_READ_FAULT:
  case ERROR_WRITE_FAULT:
    return MP_EIO;
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
