/* bind_tcp_dial.c: mp.tcp.connect to a host name: resolve it on the work
 * threads (core/resolve.h), then connect to its addresses in order until
 * one takes the connection.
 *
 * The whole dial counts as the connect's one started op: the connection
 * stays "connecting" (writes queue, reads wait, the connect timeout runs)
 * from the call until mp__tcp_connect_end, which comes exactly once. Each
 * address gets a fresh socket: a failed one is closed, and the next opened
 * only once the close has completed (sock.h: the socket's state belongs to
 * the port until then). A close of the connection ends the dial with
 * ECANCELED: during the resolution it cancels the request (if getaddrinfo
 * has not begun), during an attempt its socket's close cancels the connect.
 */
#include <stdlib.h>

#include "bind/bind_resolve.h"
#include "bind/bind_tcp.h"

/* Linked into b->tcp_dials until it ends, so that a close can find it and
 * lua_close can free it. */
typedef struct tcp_dial {
  mp_op op; /* the current attempt's connect, then the close of its socket */
  struct tcp_dial *prev, *next;
  mp__tcp_conn *conn;
  mp__resolve *resolving; /* the request, while the name resolves */
  struct sockaddr_storage *addrs;
  int naddrs;
  int next_addr;  /* the address to try next */
  int last_error; /* why the last attempt failed */
} tcp_dial;

static void dial_free(tcp_dial *d) {
  mp__bind *b = d->conn->h.b;
  if (d->prev) {
    d->prev->next = d->next;
  } else {
    b->tcp_dials = d->next;
  }
  if (d->next) d->next->prev = d->prev;
  free(d->addrs);
  free(d);
}

/* The dial is over: the connect ends with result. */
static void dial_end(tcp_dial *d, int result, const char *detail) {
  mp__tcp_conn *c = d->conn;
  c->dialing = 0;
  dial_free(d);
  mp__tcp_connect_end(c, c->h.closed ? MP_ECANCELED : result, detail);
}

static void attempted(mp_loop *loop, mp_op *op);

/* Connect to the next address that gets a socket, or end the dial. */
static void attempt_next(tcp_dial *d) {
  mp__tcp_conn *c = d->conn;
  while (d->next_addr < d->naddrs) {
    const struct sockaddr_storage *a = &d->addrs[d->next_addr++];
    int rc = mp__sock_open(&c->h.sock, c->h.b->loop->port, a->ss_family);
    if (rc < 0) {
      d->last_error = rc;
      continue;
    }
    socklen_t len =
        a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    d->op.cb = attempted;
    mp__sock_connect(&c->h.sock, &d->op, (const struct sockaddr *)a, len);
    return;
  }
  dial_end(d, d->last_error, NULL);
}

/* The failed attempt's socket is closed: try the next address. */
static void socket_closed(mp_loop *loop, mp_op *op) {
  (void)loop;
  tcp_dial *d = MP_CONTAINER_OF(op, tcp_dial, op);
  if (d->conn->h.closed) {
    dial_end(d, MP_ECANCELED, NULL);
  } else {
    attempt_next(d);
  }
}

static void attempted(mp_loop *loop, mp_op *op) {
  (void)loop;
  tcp_dial *d = MP_CONTAINER_OF(op, tcp_dial, op);
  mp__tcp_conn *c = d->conn;
  if (op->result == 0 || c->h.closed || d->next_addr >= d->naddrs) {
    dial_end(d, op->result, NULL);
    return;
  }
  d->last_error = op->result;
  d->op.cb = socket_closed;
  mp__sock_close(&c->h.sock, &d->op);
}

static void resolved(mp__resolve *r) {
  tcp_dial *d = r->data;
  lua_State *L = d->conn->h.b->L;
  d->resolving = NULL;
  if (d->conn->h.closed) {
    dial_end(d, MP_ECANCELED, NULL);
    return;
  }
  if (r->result < 0) {
    mp__push_resolve_err(L, r);
    dial_end(d, r->result, lua_tostring(L, -1));
    lua_pop(L, 1);
    return;
  }
  d->addrs = r->addrs; /* ours now: the request is freed when this returns */
  d->naddrs = r->naddrs;
  r->addrs = NULL;
  attempt_next(d);
}

int mp__tcp_dial(lua_State *L, uint16_t port, const mp__tcp_opts *opts) {
  mp__bind *b = mp__bind_get(L);
  size_t len;
  mp__check_host(L, 1, &len);
  mp__tcp_conn *c = mp__tcp_conn_new(L, &opts->conn);
  int conn_idx = lua_gettop(L);
  tcp_dial *d = calloc(1, sizeof *d);
  if (!d) {
    mp__tcp_conn_close(L, &c->h);
    return mp__bind_push_fail(L, MP_ENOMEM, "connect");
  }
  d->conn = c;
  mp__resolve_hints hints = {.family = AF_UNSPEC, .socktype = SOCK_STREAM, .port = port};
  int err;
  d->resolving = mp__bind_resolve(L, 1, &hints, resolved, d, &err);
  if (!d->resolving) {
    free(d);
    mp__tcp_conn_close(L, &c->h);
    return mp__bind_push_fail(L, err, "connect");
  }
  d->next = b->tcp_dials;
  if (d->next) d->next->prev = d;
  b->tcp_dials = d;
  c->dialing = 1;
  mp__tcp_connect_begin(L, c, conn_idx, opts->connect_timeout);
  lua_settop(L, conn_idx);
  return 1;
}

void mp__tcp_dial_cancel(mp__tcp_conn *c) {
  for (tcp_dial *d = c->h.b->tcp_dials; d; d = d->next) {
    if (d->conn == c) {
      if (d->resolving) mp__resolve_cancel(d->resolving);
      return;
    }
  }
}

void mp__tcp_dial_free_all(mp__bind *b) {
  while (b->tcp_dials)
    dial_free(b->tcp_dials);
}
