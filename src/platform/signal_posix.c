/* signal_posix.c: platform/signal.h on sigaction and a self-pipe.
 *
 * The handler does two async-signal-safe things: it sets the signal's bit
 * in an atomic mask (lock-free: checked below) and writes a byte to a
 * non-blocking pipe (a full pipe already holds a wake-up). A thread reads
 * the pipe, swaps the mask for 0 and hands it to deliver. The pipe is made
 * once and kept for the life of the process: a handler already running on
 * another thread when the last signal is released may still write to it.
 */
#define _GNU_SOURCE /* pipe2 */
#include "platform/signal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "moonport.h"
#include "platform/platform.h"

#if ATOMIC_INT_LOCK_FREE != 2
#error "the signal handler needs a lock-free atomic unsigned int"
#endif

static const int numbers[MP__SIG_COUNT] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};

static atomic_uint caught;          /* bits the handler set, not yet delivered */
static int wake_pipe[2] = {-1, -1}; /* read end, write end */
static struct sigaction previous[MP__SIG_COUNT];
static unsigned catching; /* ids whose handler is installed */
static mp__signal_deliver deliver_fn;
static mp__thread thread;
static atomic_int stopping;

int mp__signal_number(int id) {
  return id >= 0 && id < MP__SIG_COUNT ? numbers[id] : 0;
}

int mp__signal_exit_status(int id) {
  return 128 + numbers[id];
}

int mp__signal_ignored(int id) {
  struct sigaction now;
  if (catching & (1u << id) || sigaction(numbers[id], NULL, &now) < 0) return 0;
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_IGN;
}

static void on_signal(int signo) {
  int saved_errno = errno;
  for (int id = 0; id < MP__SIG_COUNT; id++)
    if (numbers[id] == signo) atomic_fetch_or(&caught, 1u << id);
  char byte = 0;
  ssize_t unused = write(wake_pipe[1], &byte, 1);
  (void)unused;
  errno = saved_errno;
}

static void delivery_main(void *arg) {
  (void)arg;
  char buf[64];
  for (;;) {
    ssize_t n = read(wake_pipe[0], buf, sizeof buf);
    if (n < 0 && errno != EINTR) break;
    if (atomic_load(&stopping)) break;
    unsigned mask = atomic_exchange(&caught, 0);
    if (mask) deliver_fn(mask);
  }
}

static int start_delivery(void) {
  if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC) < 0) return MP_EMFILE;
  /* Only the write end is non-blocking: the thread sleeps in read. */
  fcntl(wake_pipe[1], F_SETFL, fcntl(wake_pipe[1], F_GETFL) | O_NONBLOCK);
  atomic_store(&stopping, 0);
  return mp__thread_start(&thread, delivery_main, NULL);
}

static void stop_delivery(void) {
  atomic_store(&stopping, 1);
  char byte = 0;
  ssize_t unused = write(wake_pipe[1], &byte, 1);
  (void)unused;
  mp__thread_join(thread);
}

int mp__signal_catch(int id, mp__signal_deliver deliver) {
  if (catching & (1u << id)) return 0;
  if (!catching) {
    deliver_fn = deliver; /* before the thread that calls it starts */
    int rc = start_delivery();
    if (rc < 0) return rc;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sigaction(numbers[id], &sa, &previous[id]) < 0) {
    if (!catching) stop_delivery();
    return MP_EINVAL;
  }
  catching |= 1u << id;
  return 0;
}

void mp__signal_release(int id) {
  if (!(catching & (1u << id))) return;
  sigaction(numbers[id], &previous[id], NULL);
  catching &= ~(1u << id);
  if (!catching) stop_delivery();
}

void mp__signal_die(int id) {
  signal(numbers[id], SIG_DFL);
  raise(numbers[id]);
}
