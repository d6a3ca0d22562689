/* parts.h: which parts of mp the port of each OS carries so far, for the
 * code above the port (module.c, which opens the parts) that must not ask
 * for the OS itself. The loop, timers, TCP and UDP are everywhere. */
#ifndef MP_PARTS_H
#define MP_PARTS_H

#ifdef _WIN32
/* Files (a file_win32.c) on IOCP are not yet written: mp.fs is absent
 * there. */
#define MP_HAS_FILES 0
#else
#define MP_HAS_FILES 1
#endif

#endif
