/* bind_udp_send.c: a UDP socket's send queue.
 *
 * A send without a callback, while nothing is queued or in flight, goes
 * straight to the socket: most datagrams leave in that one system call and
 * copy nothing. Others (with a callback, or finding the send buffer full)
 * copy their datagram and destination into a queue entry; the socket's one
 * sendto op works through the queue in order. The queue
 * is charged each datagram's length plus the size of its entry, so that
 * empty datagrams cost something too, and a send that would take it past
 * send_queue_limit is refused with ENOBUFS: nothing grows without bound
 * (DESIGN.md rule 4). A failed sendto fails only its own datagram: UDP
 * errors (an unreachable network, a refused port on a connected socket)
 * say nothing about the next one.
 *
 * A send to a host name copies the name too, and its entry waits in the
 * queue like any other: when it comes to the head, the name resolves
 * (core/resolve.h, in the socket's family) and the datagram goes to the
 * first address; a name that does not resolve fails that datagram with
 * the resolver's error. Numeric hosts never touch the resolver.
 */
#include <stdlib.h>
#include <string.h>

#include "bind/bind_resolve.h"
#include "bind/bind_udp.h"

/* The largest UDP payload: 65535 less the UDP header and, for IPv4, the
 * smallest IP header (IPv6's header is not part of its payload length). */
#define MAX_DATAGRAM_V4 65507
#define MAX_DATAGRAM_V6 65527

struct mp__udp_send {
  mp__udp_send *next;
  mp__datagram d; /* points into data and to */
  struct sockaddr_storage to;
  int cb;        /* registry ref of the callback, or LUA_NOREF */
  char *host;    /* a name to resolve first (in data, after the datagram), or NULL */
  uint16_t port; /* host's */
  char data[];
};

static uint32_t charge(const mp__udp_send *s, size_t host_len) {
  return (uint32_t)(sizeof *s + s->d.len + host_len);
}

/* What the queue is charged for s. */
static uint32_t charged(const mp__udp_send *s) {
  return charge(s, s->host ? strlen(s->host) + 1 : 0);
}

static void send_done(mp_loop *loop, mp_op *op);
static void head_resolved(mp__resolve *r);
static void finish_head(mp__udp *u, int err, const mp__resolve *r);

/* Start resolving the head's host. Returns 0, or why it could not start. */
static int resolve_head(mp__udp *u) {
  mp__udp_send *s = u->sq_head;
  mp__resolve_hints hints = {.family = u->family, .socktype = SOCK_DGRAM, .port = s->port};
  int err;
  u->resolving =
      mp__resolve_start(u->h.b->loop, s->host, strlen(s->host), &hints, head_resolved, u, &err);
  if (!u->resolving) return err;
  mp__handle_op_started(&u->h);
  return 0;
}

/* Send (or resolve) the queue's head if nothing is under way. Only from
 * the loop: a head whose resolution cannot start fails at once. */
static void pump(mp__udp *u) {
  while (u->sq_head && !u->sending && !u->resolving && !u->h.closed) {
    if (!u->sq_head->host) {
      u->sending = 1;
      u->send_op.cb = send_done;
      mp__handle_op_started(&u->h);
      mp__sock_sendto(&u->h.sock, &u->send_op, &u->sq_head->d);
      return;
    }
    int err = resolve_head(u);
    if (err == 0) return;
    finish_head(u, err, NULL);
  }
}

/* The head's host has resolved: send to its first address. */
static void head_resolved(mp__resolve *r) {
  mp__udp *u = r->data;
  mp__udp_send *s = u->sq_head;
  u->resolving = NULL;
  if (u->h.closed) {
    mp__udp_send_fail_all(u, MP_ECANCELED);
  } else if (r->result < 0) {
    finish_head(u, r->result, r);
    pump(u);
  } else {
    u->sq_bytes -= charged(s) - charge(s, 0);
    s->host = NULL;
    memcpy(&s->to, r->addrs, sizeof s->to);
    s->d.to_len =
        s->to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    pump(u);
  }
  if (mp__handle_op_done(&u->h)) mp__udp_settle(u);
}

/* Pop the queue's head and call its callback with err (0: success); r,
 * if not NULL, is the resolution that failed it. */
static void finish_head(mp__udp *u, int err, const mp__resolve *r) {
  mp__udp_send *s = u->sq_head;
  lua_State *L = u->h.b->L;
  u->sq_head = s->next;
  if (!u->sq_head) u->sq_tail = NULL;
  u->sq_bytes -= charged(s);
  int cb = s->cb;
  free(s);
  if (cb == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, cb);
  luaL_unref(L, LUA_REGISTRYINDEX, cb);
  if (err == 0) {
    lua_pushnil(L);
    mp__bind_call(u->h.b, 1);
    return;
  }
  if (r) {
    mp__push_resolve_err(L, r);
  } else {
    mp__bind_push_err(L, err, "send");
  }
  lua_pushstring(L, mp_err_name(err));
  mp__bind_call(u->h.b, 2);
}

void mp__udp_send_fail_all(mp__udp *u, int err) {
  while (u->sq_head)
    finish_head(u, err, NULL);
}

void mp__udp_send_free_all(mp__udp *u) {
  while (u->sq_head) {
    mp__udp_send *s = u->sq_head;
    u->sq_head = s->next;
    free(s);
  }
  u->sq_tail = NULL;
  u->sq_bytes = 0;
}

static void send_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__udp *u = MP_CONTAINER_OF(op, mp__udp, send_op);
  u->sending = 0;
  /* The head was sent or not whatever happened since: it hears its own
   * result (ECANCELED if close stopped it); those behind it hear the close. */
  finish_head(u, op->result < 0 ? op->result : 0, NULL);
  if (u->h.closed) {
    mp__udp_send_fail_all(u, MP_ECANCELED);
  } else {
    pump(u);
  }
  if (mp__handle_op_done(&u->h)) mp__udp_settle(u);
}

/* sock:send(data, host, port [, cb]) -> true once sent or queued, or nil,
 * err, name if refused. host and port nil: to the connected peer. cb(err)
 * once the kernel took the datagram or refused it; without cb, a refusal
 * that comes at once is send's own result (a host name that does not
 * resolve comes later: only cb hears of it). */
int mp__udp_send_method(lua_State *L) {
  mp__udp *u = (mp__udp *)mp__handle_check(L, 1, MP__UDP_META);
  if (lua_type(L, 2) != LUA_TSTRING) luaL_typeerror(L, 2, "string");
  int connected = lua_isnoneornil(L, 3) && lua_isnoneornil(L, 4);
  if (!lua_isnoneornil(L, 5)) luaL_checktype(L, 5, LUA_TFUNCTION);
  struct sockaddr_storage to = {.ss_family = AF_UNSPEC};
  socklen_t to_len = 0;
  const char *host = NULL; /* a name to resolve, or NULL */
  size_t host_len = 0;
  uint16_t port = 0;
  if (!connected) {
    host = luaL_checkstring(L, 3);
    port = mp__bind_check_port(L, 4);
    if (mp__bind_parse_host(host, port, &to, &to_len) == 0) {
      host = NULL;
    } else {
      mp__check_host(L, 3, &host_len);
    }
  }
  if (lua_isnoneornil(L, 5) && lua_isyieldable(L)) {
    int n = mp__bind_coroutine_call(L, "udp", "send");
    if (n >= 0) return n;
  }
  if (u->h.closed) return mp__bind_push_fail(L, MP_ECLOSED, "send");
  if (connected && !u->connected)
    return mp__bind_push_fail(L, MP_ENOTCONN, "send (no address, and no peer connected)");
  size_t len;
  const char *data = lua_tolstring(L, 2, &len);
  int family = connected || host ? u->family : to.ss_family;
  if (len > (family == AF_INET6 ? MAX_DATAGRAM_V6 : MAX_DATAGRAM_V4))
    return mp__bind_push_fail(L, MP_EMSGSIZE,
                              family == AF_INET6 ? "send (datagram over 65527 bytes)"
                                                 : "send (datagram over 65507 bytes)");
  const struct sockaddr *dest = connected ? NULL : (const struct sockaddr *)&to;
  if (!host && !u->sq_head && !u->sending && lua_isnoneornil(L, 5)) {
    /* Nothing to wait for and nobody to tell later: straight to the
     * socket, without a copy; only a full send buffer queues it. */
    mp__datagram d = {.buf = data, .len = len, .to = dest, .to_len = to_len};
    int n = mp__sock_try_sendto(&u->h.sock, &d);
    if (n >= 0) {
      lua_pushboolean(L, 1);
      return 1;
    }
    if (n != MP_EAGAIN) return mp__bind_push_fail(L, n, "send");
  }
  size_t host_size = host ? host_len + 1 : 0;
  if (sizeof(mp__udp_send) + len + host_size > u->sq_limit - u->sq_bytes)
    return mp__bind_push_fail(L, MP_ENOBUFS, "send queue full");
  mp__udp_send *s = malloc(sizeof *s + len + host_size);
  if (!s) return luaL_error(L, "moonport: out of memory");
  memcpy(s->data, data, len);
  s->next = NULL;
  s->to = to;
  s->d = (mp__datagram){
      .buf = s->data, .len = len, .to = dest ? (struct sockaddr *)&s->to : NULL, .to_len = to_len};
  s->cb = LUA_NOREF;
  s->host = host ? memcpy(s->data + len, host, host_size) : NULL;
  s->port = port;
  int first = !u->sq_head;
  if (u->sq_tail) {
    u->sq_tail->next = s;
  } else {
    u->sq_head = s;
  }
  u->sq_tail = s;
  u->sq_bytes += charged(s);
  if (first && host) {
    /* Its resolution starts here, so that a failure to start is this
     * call's result (pump would tell a callback). */
    int err = resolve_head(u);
    if (err < 0) {
      mp__udp_send_free_all(u);
      return mp__bind_push_fail(L, err, "send");
    }
  } else {
    pump(u);
  }
  if (lua_isfunction(L, 5)) {
    lua_pushvalue(L, 5);
    s->cb = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  mp__handle_anchor(L, &u->h, 1, 1);
  lua_pushboolean(L, 1);
  return 1;
}
