/* bind_tcp.h: what the parts of mp.tcp share: connections, servers and
 * their options (the handle machinery is bind_handle.h's). */
#ifndef MP_BIND_TCP_H
#define MP_BIND_TCP_H

#include "bind/bind_handle.h"
#include "core/timers.h"

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

typedef struct mp__tcp_write mp__tcp_write;
typedef struct mp__tcp_timeouts mp__tcp_timeouts;

/* Every byte here is paid once per connection (an idle server with 10,000
 * clients holds 10,000 of these): 248 bytes, one 256-byte malloc chunk. */
typedef struct mp__tcp_conn {
  mp__handle h;   /* first */
  mp_op read_op;  /* the zero-byte read, or nothing */
  mp_op write_op; /* the send of the queue's head, or the connect */
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

/* Connections. */
/* A new connection, its userdata pushed, its socket not yet open. */
mp__tcp_conn *mp__tcp_conn_new(lua_State *L, const mp__tcp_conn_opts *opts);
/* Close c (its close(), also for the server and the timeouts): the read
 * and write callbacks still hear of it once. */
void mp__tcp_conn_close(lua_State *L, mp__handle *h);
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

/* Options (bind_tcp_addr.c). */
/* Read opts (table at idx, or none) over the defaults. Raises on bad ones. */
void mp__tcp_read_opts(lua_State *L, int idx, mp__tcp_opts *opts);
/* Read set_timeouts' table {read = ms, write = ms} into c. Raises on bad
 * values. */
void mp__tcp_read_timeouts(lua_State *L, int idx, mp__tcp_conn_opts *c);

/* conn:write, conn:on_drain, conn:shutdown and conn:write_queue_size. */
extern const luaL_Reg mp__tcp_write_methods[];

void mp__bind_open_tcp_conn(lua_State *L);
void mp__bind_open_tcp_server(lua_State *L);

#endif
