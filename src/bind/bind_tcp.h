/* bind_tcp.h: what the parts of mp.tcp share: connections, servers, their
 * options, and the handle list that lets the loop free what Lua left behind.
 *
 * A handle's userdata holds only a pointer to its C state, because the
 * state must outlive the userdata: its ops belong to the port until their
 * completions come (DESIGN.md rule 2), so a collected or closed handle is
 * freed by the last of them, never by the GC. While a handle has work
 * under way (reading, writes queued, connecting, accepting) it anchors its
 * userdata in the registry (self_ref), so Lua cannot collect it mid-way;
 * an idle handle that the script forgot is collected and closed.
 */
#ifndef MP_BIND_TCP_H
#define MP_BIND_TCP_H

#include "bind/bind.h"
#include "core/timers.h"
#include "port/sock.h"

#define MP__TCP_META "moonport.tcp"
#define MP__TCP_SERVER_META "moonport.tcp_server"

/* The options a connection is made with (mp.tcp.connect's opts, or its
 * server's). Times in milliseconds, 0 for none. */
typedef struct mp__tcp_conn_opts {
  uint32_t high_water;  /* write() returns false from here on */
  uint32_t write_limit; /* write() refuses data that would pass this */
  uint32_t read_timeout;
  uint32_t write_timeout;
} mp__tcp_conn_opts;

/* The options table of listen and connect. */
typedef struct mp__tcp_opts {
  mp__tcp_conn_opts conn;
  uint32_t connect_timeout;
  int backlog;
  int reuseport;
} mp__tcp_opts;

enum { MP__TCP_CONN, MP__TCP_SERVER }; /* mp__tcp_handle.kind */

/* Every connection and server, for the loop's teardown at lua_close. */
typedef struct mp__tcp_handle {
  struct mp__tcp_handle *prev, *next;
  mp__bind *b;
  mp__sock sock;
  mp_op close_op;
  int self_ref;      /* registry ref anchoring the userdata, or LUA_NOREF */
  int inflight;      /* started ops whose completion has not come */
  uint8_t closed;    /* close() was called (by the script or the GC) */
  uint8_t collected; /* its userdata is gone: free once nothing is in flight */
  uint8_t kind;      /* MP__TCP_CONN or MP__TCP_SERVER */
} mp__tcp_handle;

typedef struct mp__tcp_write mp__tcp_write;
typedef struct mp__tcp_timeouts mp__tcp_timeouts;

/* Every byte here is paid once per connection (an idle server with 10,000
 * clients holds 10,000 of these): 248 bytes, one 256-byte malloc chunk. */
typedef struct mp__tcp_conn {
  mp__tcp_handle h; /* first */
  mp_op read_op;    /* the zero-byte read, or nothing */
  mp_op write_op;   /* the send of the queue's head, or the connect */
  mp__tcp_write *wq_head, *wq_tail;
  uint32_t wq_bytes;      /* bytes queued and not yet sent (<= write_limit) */
  int16_t write_error;    /* an MP_E… code once a send failed: later writes fail with it */
  uint8_t read_mode : 2;  /* MP__READ_… below */
  uint8_t reading : 1;    /* read_op is in flight */
  uint8_t writing : 1;    /* write_op is in flight */
  uint8_t connecting : 2; /* MP__CONNECT_… below, or 0 */
  uint8_t shut : 1;       /* shutdown() asked: no more writes */
  uint8_t need_drain : 1; /* write() returned false: call on_drain once empty */
  uint8_t dialing : 1;    /* a connect by name: its dial (bind_tcp_dial.c) runs */
  uint32_t high_water;
  uint32_t write_limit;
  mp__tcp_timeouts *timeouts; /* the timeouts and their timers, if any is set */
  int read_cb;                /* registry refs, or LUA_NOREF */
  int drain_cb;
  int connect_cb;
} mp__tcp_conn;

enum { MP__READ_OFF, MP__READ_ONCE, MP__READ_ON };
/* connecting: 0 when not, else one of these. */
enum { MP__CONNECT_PENDING = 1, MP__CONNECT_TIMED_OUT };

/* Handles. */
/* Push a new userdata of metatable tname for h (allocated, zeroed but for
 * what the caller set) and link h into the loop's list. */
void mp__tcp_handle_push(lua_State *L, mp__tcp_handle *h, const char *tname);
/* The handle of the userdata at idx (checked against tname). It stays
 * allocated while its userdata lives, closed or not. */
mp__tcp_handle *mp__tcp_handle_check(lua_State *L, int idx, const char *tname);
/* The kinds' close() and cleanup (the handle functions dispatch on kind). */
void mp__tcp_conn_close(lua_State *L, mp__tcp_handle *h);
void mp__tcp_conn_free(mp__tcp_handle *h);
void mp__tcp_server_close(lua_State *L, mp__tcp_handle *h);
void mp__tcp_server_free(mp__tcp_handle *h);
/* Close h as its kind does. */
void mp__tcp_close(lua_State *L, mp__tcp_handle *h);
/* Push the anchored userdata of h. */
void mp__tcp_push_self(lua_State *L, mp__tcp_handle *h);
/* Anchor (want = 1, userdata at idx) or release the handle's userdata. */
void mp__tcp_anchor(lua_State *L, mp__tcp_handle *h, int want, int idx);
/* Count a started op: it keeps the loop running and the handle allocated. */
void mp__tcp_op_started(mp__tcp_handle *h);
/* Count its completion; frees the handle if closed, collected and nothing
 * is left. Returns 1 if the handle is open (and so still allocated). */
int mp__tcp_op_done(mp__tcp_handle *h);
/* The coroutine form: lua/moonport/tcp.lua registers its waiting read,
 * write, shutdown and accept with mp.tcp.coroutine_form{...}; a method
 * called without a callback (and, for write and shutdown, inside a
 * coroutine) hands its arguments to the one named name and returns what
 * it returns, after a yield if it waits. Returns -1 when there is none. */
int mp__tcp_coroutine_call(lua_State *L, const char *name);
int mp__tcp_set_coroutine_form(lua_State *L);

/* __tostring of both kinds: "tname (open|closed): address". */
int mp__tcp_handle_tostring(lua_State *L, const char *tname);
/* __gc of both kinds: close if open, and forget the userdata. */
int mp__tcp_handle_gc(lua_State *L);
/* Close the socket; the handle is freed once its last op has completed
 * and its userdata is gone. The kinds' close functions end with this. */
void mp__tcp_handle_close(lua_State *L, mp__tcp_handle *h);

/* Connections. */
/* A new connection, its userdata pushed, its socket not yet open. */
mp__tcp_conn *mp__tcp_conn_new(lua_State *L, const mp__tcp_conn_opts *opts);
/* Fail every queued write: their callbacks get err. */
void mp__tcp_write_fail_all(mp__tcp_conn *c, int err);
/* Free the queue without calling anything (the loop is going away). */
void mp__tcp_write_free_all(mp__tcp_conn *c);
/* Take the connect callback (argument 3), mark c connecting, anchor its
 * userdata (at conn_idx) and count the connect as one started op; arm the
 * connect timeout if timeout_ms. The connect ends with mp__tcp_connect_end. */
void mp__tcp_connect_begin(lua_State *L, mp__tcp_conn *c, int conn_idx, uint32_t timeout_ms);
/* The connect has ended with result: tell its callback (detail, if not
 * NULL, is its err text, else "ENAME: connect: message"), then send what
 * was queued; counts the connect's op as done. */
void mp__tcp_connect_end(mp__tcp_conn *c, int result, const char *detail);
/* The connect has ended (write_op's completion while connecting). */
void mp__tcp_connect_done(mp_loop *loop, mp_op *op);

/* Connects by name (bind_tcp_dial.c). */
/* mp.tcp.connect(host, port, cb [, opts]) for a host that is a name:
 * resolve it, then try its addresses in order until one connects. */
int mp__tcp_dial(lua_State *L, uint16_t port, const mp__tcp_opts *opts);
/* Close of a dialing connection: stop the resolution if it has not begun. */
void mp__tcp_dial_cancel(mp__tcp_conn *c);
/* Free every dial (lua_close; their completions will not come). */
void mp__tcp_dial_free_all(mp__bind *b);
/* Start sending the queue's head if nothing is being sent. */
void mp__tcp_write_pump(mp__tcp_conn *c);
/* Whether the conn needs its anchor: it reads, writes or connects. */
int mp__tcp_conn_busy(const mp__tcp_conn *c);
/* Re-check the anchor after a completion (no userdata on the stack: it
 * can only be dropped here). */
void mp__tcp_conn_settle(mp__tcp_conn *c);
/* Stop reading and report err to the read callback (timeouts). */
void mp__tcp_read_fail(mp__tcp_conn *c, int err);

/* Timeouts (bind_tcp_timeout.c). */
/* Set the read and write timeouts (ms, 0 for none), allocating the block
 * when one is set. Returns 0 or MP_ENOMEM. */
int mp__tcp_timeouts_set(mp__tcp_conn *c, uint32_t read_ms, uint32_t write_ms);
/* Note activity and (re)arm the read or write timeout as needed. */
void mp__tcp_timeout_read_active(mp__tcp_conn *c);
void mp__tcp_timeout_write_active(mp__tcp_conn *c);
/* Arm the connect timeout of ms milliseconds. */
void mp__tcp_timeout_connect(mp__tcp_conn *c, uint32_t ms);
/* Cancel whatever is armed (close). */
void mp__tcp_timeout_cancel(mp__tcp_conn *c);
void mp__tcp_timeouts_free(mp__tcp_conn *c);

/* Options and addresses (bind_tcp_addr.c). */
/* Read opts (table at idx, or none) over the defaults. Raises on bad ones. */
void mp__tcp_read_opts(lua_State *L, int idx, mp__tcp_opts *opts);
/* Read set_timeouts' table {read = ms, write = ms} into c. Raises on bad
 * values. */
void mp__tcp_read_timeouts(lua_State *L, int idx, mp__tcp_conn_opts *c);
/* Parse host (arg hidx) and port (arg hidx + 1). Raises on a bad port;
 * returns MP_EAI_NONAME for a host that is not an address or localhost. */
int mp__tcp_parse_addr(lua_State *L, int hidx, struct sockaddr_storage *out, socklen_t *len);
/* The port argument at idx; raises unless it is an integer 0-65535. */
uint16_t mp__tcp_check_port(lua_State *L, int idx);
/* Push host, port of addr; returns 2. */
int mp__tcp_push_addr(lua_State *L, const struct sockaddr_storage *addr);
/* Push nil, "ENAME: what: message", "ENAME"; returns 3. */
int mp__tcp_push_fail(lua_State *L, int err, const char *what);
/* Push "ENAME: what: message" (a callback's err). */
void mp__tcp_push_err(lua_State *L, int err, const char *what);
/* Call the callback on top of b->L's stack with (err, nil, "ENAME"), the
 * failure of what; the shape of every failed read, connect and accept. */
void mp__tcp_call_failed(mp__bind *b, int err, const char *what);

/* conn:write, conn:on_drain, conn:shutdown and conn:write_queue_size. */
extern const luaL_Reg mp__tcp_write_methods[];

void mp__bind_open_tcp_conn(lua_State *L);
void mp__bind_open_tcp_server(lua_State *L);

#endif
