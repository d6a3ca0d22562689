/* signal.h: catching the process's signals without running anything in
 * the signal handler. signal_posix.c implements it with sigaction and a
 * self-pipe; signal_win32.c with SetConsoleCtrlHandler (Ctrl+C as
 * MP__SIG_INT, Ctrl+Break and console close as MP__SIG_TERM).
 *
 * Signals are named by moonport's own ids, the same on every OS; each is a
 * bit (1u << id) of the masks below. All calls come from one thread at a
 * time (core/signals.c holds its lock around them).
 */
#ifndef MP_SIGNAL_H
#define MP_SIGNAL_H

enum { MP__SIG_INT, MP__SIG_TERM, MP__SIG_HUP, MP__SIG_USR1, MP__SIG_USR2, MP__SIG_COUNT };

/* Called with the ids caught since its last call, on the platform's own
 * thread (never inside a signal handler); several deliveries of one signal
 * before it runs come as one bit. */
typedef void (*mp__signal_deliver)(unsigned mask);

/* The OS's number of id (SIGINT's 2), or 0 if this OS has no such signal. */
int mp__signal_number(int id);
/* The exit status that says a process was ended by id: 128 + its number,
 * as POSIX shells show it; STATUS_CONTROL_C_EXIT on Windows. Never 0. */
int mp__signal_exit_status(int id);
/* Whether id is ignored now (SIG_IGN, as a shell leaves SIGINT for a job
 * in the background) and not caught by us. */
int mp__signal_ignored(int id);
/* Catch id from now on; deliver is the same for every call. Returns 0, or
 * an MP_E… code (MP_ENOSYS where the OS has no such signal). */
int mp__signal_catch(int id, mp__signal_deliver deliver);
/* Stop catching id: the disposition it had before the first catch comes
 * back. When nothing is caught any more, the delivering thread ends. */
void mp__signal_release(int id);
/* Die of id as if it had not been caught: the default disposition back,
 * and the signal raised. For a second Ctrl+C to a process that has not
 * yet acted on the first. Any thread. */
void mp__signal_die(int id);

#endif
