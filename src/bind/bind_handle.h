/* bind_handle.h: what the socket handles (TCP connections and servers, UDP
 * sockets) share: their life, the list that lets the loop free what Lua
 * left behind, the coroutine form's dispatch, addresses and failures.
 *
 * A handle's userdata holds only a pointer to its C state, because the
 * state must outlive the userdata: its ops belong to the port until their
 * completions come (DESIGN.md rule 2), so a collected or closed handle is
 * freed by the last of them, never by the GC. While a handle has work
 * under way (reading, writes queued, connecting, accepting) it anchors its
 * userdata in the registry (self_ref), so Lua cannot collect it mid-way;
 * an idle handle that the script forgot is collected and closed.
 */
#ifndef MP_BIND_HANDLE_H
#define MP_BIND_HANDLE_H

#include "bind/bind.h"
#include "port/sock.h"

/* The size of the buffer every socket's reads land in (mp__bind.read_buf),
 * which is also the largest datagram a UDP socket can receive whole. */
#define MP__READ_BUF_SIZE (64 * 1024)

struct mp__handle;

/* What a kind of handle (TCP connection or server, UDP socket) does in its
 * own way: its close() and its cleanup. Each kind's file has one and points
 * its handles at it, so that the functions here dispatch without naming
 * the kinds (those an OS lacks are not built there). */
typedef struct mp__handle_kind {
  void (*close)(lua_State *L, struct mp__handle *h);
  void (*free)(struct mp__handle *h);
} mp__handle_kind;

/* Every socket handle, for the loop's teardown at lua_close. */
typedef struct mp__handle {
  struct mp__handle *prev, *next;
  mp__bind *b;
  mp__sock sock;
  mp_op close_op;
  int self_ref; /* registry ref anchoring the userdata, or LUA_NOREF */
  int inflight; /* started ops whose completion has not come */
  const mp__handle_kind *kind;
  uint8_t closed;    /* close() was called (by the script or the GC) */
  uint8_t collected; /* its userdata is gone: free once nothing is in flight */
} mp__handle;

/* Push a new userdata of metatable tname for h (allocated, zeroed but for
 * what the caller set) and link h into the loop's list. */
void mp__handle_push(lua_State *L, mp__handle *h, const char *tname);
/* The handle of the userdata at idx (checked against tname). It stays
 * allocated while its userdata lives, closed or not. */
mp__handle *mp__handle_check(lua_State *L, int idx, const char *tname);
/* Push the anchored userdata of h. */
void mp__handle_push_self(lua_State *L, mp__handle *h);
/* Anchor (want = 1, userdata at idx) or release the handle's userdata. */
void mp__handle_anchor(lua_State *L, mp__handle *h, int want, int idx);
/* Count a started op: it keeps the loop running and the handle allocated. */
void mp__handle_op_started(mp__handle *h);
/* Count its completion; frees the handle if closed, collected and nothing
 * is left. Returns 1 if the handle is open (and so still allocated). */
int mp__handle_op_done(mp__handle *h);
/* The loop's shared read buffer of MP__READ_BUF_SIZE bytes, allocated on
 * first use; raises when out of memory. */
char *mp__handle_read_buf(lua_State *L, mp__bind *b);

/* __tostring of every kind: "tname (open|closed): address". */
int mp__handle_tostring(lua_State *L, const char *tname);
/* __gc of every kind: close if open, and forget the userdata. */
int mp__handle_gc(lua_State *L);
/* Close the socket; the handle is freed once its last op has completed
 * and its userdata is gone. The kinds' close functions end with this. */
void mp__handle_close(lua_State *L, mp__handle *h);

/* Addresses, options and failures (bind_addr.c). */
/* An optional integer field name of the options table at idx, within
 * [min, max]; dflt when absent. Raises on a bad value. */
uint32_t mp__bind_opt_uint(lua_State *L, int idx, const char *name, uint32_t dflt, lua_Integer min,
                           lua_Integer max);
/* The address of host, a numeric IPv4 or IPv6 address, and port; 0, or
 * MP_EAI_NONAME for anything else (a name: the callers that take names
 * resolve it through bind_resolve.h; this is their fast path). */
int mp__bind_parse_host(const char *host, uint16_t port, struct sockaddr_storage *out,
                        socklen_t *len);
/* The port argument at idx; raises unless it is an integer 0-65535. */
uint16_t mp__bind_check_port(lua_State *L, int idx);
/* The local address to listen on or bind to: host (arg hidx), a numeric
 * address or "localhost" (as 127.0.0.1), and port (arg hidx + 1). Raises
 * on a bad port; returns MP_EAI_NONAME for any other host. */
int mp__bind_parse_local(lua_State *L, int hidx, struct sockaddr_storage *out, socklen_t *len);
/* Push host, port of addr; returns 2. */
int mp__bind_push_addr(lua_State *L, const struct sockaddr_storage *addr);
/* Push nil, "ENAME: what: message", "ENAME"; returns 3. */
int mp__bind_push_fail(lua_State *L, int err, const char *what);
/* Push "ENAME: what: message" (a callback's err). */
void mp__bind_push_err(lua_State *L, int err, const char *what);
/* Call the callback on top of b->L's stack with (err, nil, "ENAME"), the
 * failure of what; the shape of every failed read, receive, connect and
 * accept. */
void mp__bind_call_failed(mp__bind *b, int err, const char *what);

#endif
