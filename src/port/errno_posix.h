/* errno_posix.h: errno values turned into MP_E… codes (Linux backends only).
 * The mapping is moonport.h's mp_from_errno, public because C modules need
 * it too; the port files keep their internal name for it. */
#ifndef MP_ERRNO_POSIX_H
#define MP_ERRNO_POSIX_H

#include <errno.h>

#include "moonport.h"

#define mp__from_errno mp_from_errno

#endif
