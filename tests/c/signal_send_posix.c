/* signal_send_posix.c: signal_send.h on Linux: kill(getpid()), which the
 * kernel delivers to whichever thread does not block the signal. */
#define _POSIX_C_SOURCE 200809L /* kill under -std=c11 */
#include "signal_send.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "platform/signal.h"

int test_signal_send(int id) {
  if (kill(getpid(), mp__signal_number(id)) == 0) return 0;
  perror("kill");
  return -1;
}
