/* resolve.h: name resolution (getaddrinfo) as offloaded work.
 *
 * A request is allocated by mp__resolve_start and owned by the resolver:
 * its done callback runs on the Lua thread exactly once, with the result
 * and the addresses in the request, and the request is freed when done
 * returns (copy or steal what you need). A loop freed while requests are in
 * flight frees them itself, after its work threads have stopped, without
 * calling done: owners that go away with the loop need not wait for them.
 */
#ifndef MP_RESOLVE_H
#define MP_RESOLVE_H

#include <stdint.h>

#include "moonport.h"
#include "platform/net.h"

/* The longest host name the resolver takes (RFC 1035: 253 characters). */
#define MP__HOST_MAX 253

typedef struct mp__resolve mp__resolve;
typedef void (*mp__resolve_cb)(mp__resolve *r);

/* What to ask for. family: AF_UNSPEC, AF_INET or AF_INET6; socktype:
 * SOCK_STREAM or SOCK_DGRAM (only to keep getaddrinfo from answering each
 * address once per socket type); port lands in every address. */
typedef struct mp__resolve_hints {
  int family;
  int socktype;
  uint16_t port;
} mp__resolve_hints;

struct mp__resolve {
  mp_work work;             /* private */
  mp__resolve *prev, *next; /* private: the loop's requests in flight */
  mp_loop *loop;
  mp__resolve_cb done;
  void *data; /* the caller's */
  mp__resolve_hints hints;
  /* Once done: result is 0 and addrs holds naddrs addresses (in the
   * resolver's order, duplicates removed), or result is an MP_E… code
   * (MP_EAI_… from getaddrinfo, MP_ECANCELED after a cancel) and
   * mp__resolve_message says what the resolver said. addrs is malloc'd:
   * the callback may take it (set addrs to NULL) and free it later. */
  int result;
  int gai_code;  /* private: getaddrinfo's own code */
  int sys_errno; /* private: errno for EAI_SYSTEM */
  struct sockaddr_storage *addrs;
  int naddrs;
  char host[MP__HOST_MAX + 1];
};

/* Why host (len bytes) is not a name the resolver takes, or NULL if it is:
 * empty, holding a NUL byte, or longer than MP__HOST_MAX. */
const char *mp__resolve_check_host(const char *host, size_t len);

/* Start resolving host (checked with mp__resolve_check_host). Returns the
 * request, or NULL with *err set (MP_EINVAL for a bad host, MP_ENOMEM, or
 * what mp_work_submit said); then done never runs. Lua thread. */
mp__resolve *mp__resolve_start(mp_loop *loop, const char *host, size_t len,
                               const mp__resolve_hints *hints, mp__resolve_cb done, void *data,
                               int *err);
/* Ask a request not to run: if getaddrinfo has not started, done comes on
 * a later round with MP_ECANCELED; else it comes with what it finds. */
void mp__resolve_cancel(mp__resolve *r);
/* The resolver's own words for a failed request (gai_strerror's text). */
const char *mp__resolve_message(const mp__resolve *r);
/* Free the requests still in flight (mp__loop_free, once the work threads
 * and the port's workers have stopped). */
void mp__resolve_free_all(mp_loop *loop);

#endif
