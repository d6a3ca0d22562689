/* errno_posix.h: errno values turned into MP_E… codes (Linux backends only). */
#ifndef MP_ERRNO_POSIX_H
#define MP_ERRNO_POSIX_H

#include <errno.h>

#include "moonport.h"

static inline int mp__from_errno(int e) {
  switch (e) {
  case EINVAL:
    return MP_EINVAL;
  case ENOMEM:
    return MP_ENOMEM;
  case ECANCELED:
    return MP_ECANCELED;
  case ETIMEDOUT:
    return MP_ETIMEDOUT;
  case EAGAIN:
    return MP_EAGAIN;
  case EBUSY:
    return MP_EBUSY;
  case ENOSYS:
    return MP_ENOSYS;
  case EPERM:
    return MP_EPERM;
  case EMFILE:
    return MP_EMFILE;
  case ENFILE:
    return MP_ENFILE;
  case EIO:
    return MP_EIO;
  case EACCES:
    return MP_EACCES;
  case EADDRINUSE:
    return MP_EADDRINUSE;
  case EADDRNOTAVAIL:
    return MP_EADDRNOTAVAIL;
  case EAFNOSUPPORT:
    return MP_EAFNOSUPPORT;
  case ECONNABORTED:
    return MP_ECONNABORTED;
  case ECONNREFUSED:
    return MP_ECONNREFUSED;
  case ECONNRESET:
    return MP_ECONNRESET;
  case EHOSTUNREACH:
    return MP_EHOSTUNREACH;
  case ENETUNREACH:
    return MP_ENETUNREACH;
  case ENOBUFS:
    return MP_ENOBUFS;
  case ENOTCONN:
    return MP_ENOTCONN;
  case EPIPE:
    return MP_EPIPE;
  case ENOENT:
    return MP_ENOENT;
  case EEXIST:
    return MP_EEXIST;
  case EISDIR:
    return MP_EISDIR;
  case ENOTDIR:
    return MP_ENOTDIR;
  case EBADF:
    return MP_EBADF;
  case ENOTEMPTY:
    return MP_ENOTEMPTY;
  case EROFS:
    return MP_EROFS;
  case ENOSPC:
    return MP_ENOSPC;
  case EFBIG:
    return MP_EFBIG;
  case ENAMETOOLONG:
    return MP_ENAMETOOLONG;
  case ELOOP:
    return MP_ELOOP;
  case EXDEV:
    return MP_EXDEV;
  case ESPIPE:
    return MP_ESPIPE;
  case EDQUOT:
    return MP_EDQUOT;
  case EMSGSIZE:
    return MP_EMSGSIZE;
  default:
    return MP_UNKNOWN;
  }
}

#endif
