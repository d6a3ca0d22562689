/* signal_send.h: how test_signal.c sends a signal to its own process, as
 * it would come from outside: kill(1) on Linux (signal_send_posix.c), a
 * console control event on Windows (signal_send_win32.c). The build picks
 * the file. */
#ifndef MP_SIGNAL_SEND_H
#define MP_SIGNAL_SEND_H

/* Send id (MP__SIG_…) to this process. Returns 0, or -1 if that failed
 * (the reason is on stderr). Where the system is known to lack the means
 * (Wine cannot generate Ctrl+Break), the test is skipped instead: a
 * "SKIP (Wine): …" line on stderr, and exit 77. */
int test_signal_send(int id);

#endif
