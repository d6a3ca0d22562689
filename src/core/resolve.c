/* resolve.c: getaddrinfo on the work threads (see resolve.h). */
#define _GNU_SOURCE /* glibc: EAI_NODATA, EAI_ADDRFAMILY */
#include "core/resolve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"

const char *mp__resolve_check_host(const char *host, size_t len) {
  if (len == 0) return "host is empty";
  if (memchr(host, '\0', len)) return "host contains a NUL byte";
  if (len > MP__HOST_MAX) return "host is longer than 253 bytes";
  return NULL;
}

/* getaddrinfo's codes as ours. Several systems give EAI_NODATA and
 * EAI_ADDRFAMILY (a name without addresses, or none of the family asked
 * for) the value of another code, or none at all. */
static int from_gai(int code) {
  switch (code) {
  case EAI_AGAIN:
    return MP_EAI_AGAIN;
  case EAI_FAIL:
    return MP_EAI_FAIL;
  case EAI_FAMILY:
    return MP_EAI_FAMILY;
  case EAI_SERVICE:
    return MP_EAI_SERVICE;
  case EAI_MEMORY:
    return MP_ENOMEM;
  case EAI_BADFLAGS:
    return MP_EINVAL;
  case EAI_NONAME:
    return MP_EAI_NONAME;
  default:
    break;
  }
#if defined(EAI_NODATA) && EAI_NODATA != EAI_NONAME
  if (code == EAI_NODATA) return MP_EAI_NODATA;
#endif
#if defined(EAI_ADDRFAMILY)
  if (code == EAI_ADDRFAMILY) return MP_EAI_NODATA;
#endif
  return MP_EAI_FAIL;
}

static int same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
           x->sin6_scope_id == y->sin6_scope_id;
  }
  const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
  return x->sin_addr.s_addr == y->sin_addr.s_addr;
}

/* Copy the IPv4 and IPv6 answers of list into r, each address once, with
 * the port asked for. */
static int take_answers(mp__resolve *r, const struct addrinfo *list) {
  int n = 0;
  for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
    n++;
  r->addrs = calloc(n ? (size_t)n : 1, sizeof *r->addrs);
  if (!r->addrs) return MP_ENOMEM;
  uint16_t port = htons(r->hints.port);
  for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
    struct sockaddr_storage a = {0};
    if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in)) {
      memcpy(&a, ai->ai_addr, sizeof(struct sockaddr_in));
      ((struct sockaddr_in *)&a)->sin_port = port;
    } else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
      memcpy(&a, ai->ai_addr, sizeof(struct sockaddr_in6));
      ((struct sockaddr_in6 *)&a)->sin6_port = port;
    } else {
      continue;
    }
    int seen = 0;
    for (int i = 0; i < r->naddrs && !seen; i++)
      seen = same_address(&r->addrs[i], &a);
    if (!seen) r->addrs[r->naddrs++] = a;
  }
  return r->naddrs > 0 ? 0 : MP_EAI_NODATA;
}

/* On a work thread: everything it touches is the request's own. */
static void resolve_work(mp_work *work) {
  mp__resolve *r = MP_CONTAINER_OF(work, mp__resolve, work);
  struct addrinfo hints = {0}, *list = NULL;
  hints.ai_family = r->hints.family;
  hints.ai_socktype = r->hints.socktype;
  int code = getaddrinfo(r->host, NULL, &hints, &list);
  if (code != 0) {
    r->gai_code = code;
    r->sys_errno = errno;
    work->op.result = from_gai(code);
    return;
  }
  work->op.result = take_answers(r, list);
  freeaddrinfo(list);
}

static void unlink_request(mp__resolve *r) {
  if (r->prev) {
    r->prev->next = r->next;
  } else {
    r->loop->resolves = r->next;
  }
  if (r->next) r->next->prev = r->prev;
}

static void request_free(mp__resolve *r) {
  free(r->addrs);
  free(r);
}

static void resolve_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__resolve *r = MP_CONTAINER_OF(op, mp__resolve, work.op);
  unlink_request(r);
  r->result = op->result;
  r->done(r);
  request_free(r);
}

mp__resolve *mp__resolve_start(mp_loop *loop, const char *host, size_t len,
                               const mp__resolve_hints *hints, mp__resolve_cb done, void *data,
                               int *err) {
  if (mp__resolve_check_host(host, len)) {
    *err = MP_EINVAL;
    return NULL;
  }
  mp__resolve *r = calloc(1, sizeof *r);
  if (!r) {
    *err = MP_ENOMEM;
    return NULL;
  }
  memcpy(r->host, host, len);
  r->loop = loop;
  r->hints = *hints;
  r->done = done;
  r->data = data;
  r->work.fn = resolve_work;
  r->work.op.cb = resolve_done;
  int rc = mp_work_submit(loop, &r->work);
  if (rc < 0) {
    free(r);
    *err = rc;
    return NULL;
  }
  r->next = loop->resolves;
  if (r->next) r->next->prev = r;
  loop->resolves = r;
  return r;
}

void mp__resolve_cancel(mp__resolve *r) {
  (void)mp_work_cancel(r->loop, &r->work);
}

const char *mp__resolve_message(const mp__resolve *r) {
  if (r->gai_code == 0) return mp_strerror(r->result);
#ifdef EAI_SYSTEM
  if (r->gai_code == EAI_SYSTEM) return strerror(r->sys_errno);
#endif
  /* Some systems (Wine) have no text for a code: say it our way then. */
  const char *text = gai_strerror(r->gai_code);
  return text && *text ? text : mp_strerror(r->result);
}

void mp__resolve_free_all(mp_loop *loop) {
  while (loop->resolves) {
    mp__resolve *r = loop->resolves;
    loop->resolves = r->next;
    request_free(r);
  }
}
