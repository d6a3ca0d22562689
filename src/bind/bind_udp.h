/* bind_udp.h: what the parts of mp.udp share: the UDP socket handle.
 *
 * Receiving is the TCP connection's zero-byte read (the socket waits
 * without a buffer), followed by recvfrom calls into the loop's read
 * buffer. Sending goes through a queue of copied datagrams and the one
 * sendto op of the socket (DESIGN.md rule 7): the queue is bounded by
 * send_queue_limit, and a send that would pass it is refused (ENOBUFS).
 * A datagram to a host name waits in the queue while the queue's head
 * resolves (one resolution at a time, so datagrams keep their order).
 */
#ifndef MP_BIND_UDP_H
#define MP_BIND_UDP_H

#include "bind/bind_handle.h"

#define MP__UDP_META "moonport.udp"

typedef struct mp__udp_send mp__udp_send;

typedef struct mp__udp {
  mp__handle h;  /* first */
  mp_op recv_op; /* the zero-byte read, or nothing */
  mp_op send_op; /* the sendto of the queue's head */
  mp__udp_send *sq_head, *sq_tail;
  uint32_t sq_bytes;              /* what the queue is charged (<= sq_limit): see bind_udp_send.c */
  uint32_t sq_limit;              /* send_queue_limit */
  uint32_t recv_size;             /* longest datagram received whole (<= MP__READ_BUF_SIZE) */
  struct mp__resolve *resolving;  /* the queue head's host, while it resolves */
  struct mp__resolve *connecting; /* connect(host, port, cb)'s host, while it resolves */
  int recv_cb;                    /* registry refs, or LUA_NOREF */
  int connect_cb;
  uint8_t recv_mode; /* MP__RECV_… below */
  uint8_t receiving; /* recv_op is in flight */
  uint8_t sending;   /* send_op is in flight */
  uint8_t family;    /* AF_INET or AF_INET6, as bound */
  uint8_t connected; /* connect() fixed a peer */
} mp__udp;

enum { MP__RECV_OFF, MP__RECV_ONCE, MP__RECV_ON };

/* Whether u needs its anchor: it receives, sends, or resolves. */
int mp__udp_busy(const mp__udp *u);
/* Re-check the anchor after a completion. */
void mp__udp_settle(mp__udp *u);
/* Fail every queued datagram with err (their callbacks hear it). */
void mp__udp_send_fail_all(mp__udp *u, int err);
/* Free the queue without calling anything (the loop is going away). */
void mp__udp_send_free_all(mp__udp *u);

/* sock:send (bind_udp_send.c). */
int mp__udp_send_method(lua_State *L);

#endif
