/* bind_tcp_timeout.c: connect, read and write timeouts of a connection.
 *
 * Data arriving or leaving must not cost a timer operation each time, so a
 * timeout is lazy: activity only notes the time, and an armed timer, when
 * it fires, compares: still in time, it re-arms for the remainder; idle too
 * long, it fails the read or the write. The timeouts and two core timers
 * live in a block allocated when a timeout is first set: connections
 * without timeouts pay one pointer for them.
 */
#include <stdlib.h>

#include "bind/bind_tcp.h"

struct mp__tcp_timeouts {
  mp__tcp_conn *conn;
  uint32_t read_ms, write_ms;     /* 0: none */
  mp__timer read, write;          /* the write timer also times the connect */
  uint64_t read_last, write_last; /* ns of the last activity */
};

#define ARMED 1 /* in mp__timer.user */

static mp__tcp_timeouts *get(mp__tcp_conn *c) {
  if (!c->timeouts) {
    mp__tcp_timeouts *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->conn = c;
    t->read.heap_index = t->write.heap_index = MP__TIMER_NOT_IN_HEAP;
    c->timeouts = t;
  }
  return c->timeouts;
}

static void arm(mp__tcp_conn *c, mp__timer *timer, uint64_t due, mp_op_cb cb) {
  timer->user = ARMED;
  mp__handle_op_started(&c->h);
  mp__timer_start(c->h.b->loop, timer, due, cb);
}

/* A fired timer: 1 if it should act (the connection is open and the
 * timer was not cancelled), else it is done with. */
static int fired(mp__tcp_conn *c, mp__timer *timer) {
  timer->user = 0;
  if (timer->op.result != 0 || c->h.closed) {
    mp__handle_op_done(&c->h);
    return 0;
  }
  return 1;
}

static void read_fired(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__tcp_timeouts *t = MP_CONTAINER_OF(op, mp__tcp_timeouts, read.op);
  mp__tcp_conn *c = t->conn;
  if (!fired(c, &t->read)) return;
  uint64_t limit = (uint64_t)t->read_ms * 1000000u;
  if (c->read_mode != MP__READ_OFF && limit) {
    uint64_t due = t->read_last + limit;
    if (mp__now_ns() < due) {
      arm(c, &t->read, due, read_fired);
    } else {
      mp__tcp_read_fail(c, MP_ETIMEDOUT);
    }
  }
  if (mp__handle_op_done(&c->h)) mp__tcp_conn_settle(c);
}

/* Sending made no progress for too long: fail the writes (and the read,
 * which would otherwise wait on a peer that does not read), then close. */
static void write_timed_out(mp__tcp_conn *c) {
  c->write_error = MP_ETIMEDOUT;
  mp__tcp_write_fail_all(c, MP_ETIMEDOUT);
  if (c->read_mode != MP__READ_OFF) mp__tcp_read_fail(c, MP_ETIMEDOUT);
  mp__tcp_conn_close(c->h.b->L, &c->h);
}

static void write_fired(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__tcp_timeouts *t = MP_CONTAINER_OF(op, mp__tcp_timeouts, write.op);
  mp__tcp_conn *c = t->conn;
  if (!fired(c, &t->write)) return;
  if (c->connecting) {
    /* The connect's completion (cancelled by the close) reports it. */
    c->connecting = MP__CONNECT_TIMED_OUT;
    mp__tcp_conn_close(c->h.b->L, &c->h);
  } else if (c->wq_head && t->write_ms) {
    uint64_t due = t->write_last + (uint64_t)t->write_ms * 1000000u;
    if (mp__now_ns() < due) {
      arm(c, &t->write, due, write_fired);
    } else {
      write_timed_out(c);
    }
  }
  if (mp__handle_op_done(&c->h)) mp__tcp_conn_settle(c);
}

/* Note activity now, and arm timer for limit_ms from now if it is idle. */
static void touch(mp__tcp_conn *c, mp__timer *timer, uint64_t *last, uint32_t limit_ms,
                  mp_op_cb cb) {
  uint64_t now = mp__now_ns();
  *last = now;
  if (timer->user != ARMED) arm(c, timer, now + (uint64_t)limit_ms * 1000000u, cb);
}

int mp__tcp_timeouts_set(mp__tcp_conn *c, uint32_t read_ms, uint32_t write_ms) {
  if (!c->timeouts && !read_ms && !write_ms) return 0;
  mp__tcp_timeouts *t = get(c);
  if (!t) return MP_ENOMEM;
  t->read_ms = read_ms;
  t->write_ms = write_ms;
  return 0;
}

void mp__tcp_timeout_read_active(mp__tcp_conn *c) {
  mp__tcp_timeouts *t = c->timeouts;
  if (t && t->read_ms) touch(c, &t->read, &t->read_last, t->read_ms, read_fired);
}

void mp__tcp_timeout_write_active(mp__tcp_conn *c) {
  mp__tcp_timeouts *t = c->timeouts;
  if (t && t->write_ms && c->wq_head) touch(c, &t->write, &t->write_last, t->write_ms, write_fired);
}

void mp__tcp_timeout_connect(mp__tcp_conn *c, uint32_t ms) {
  mp__tcp_timeouts *t = get(c);
  if (t) touch(c, &t->write, &t->write_last, ms, write_fired);
}

void mp__tcp_timeout_cancel(mp__tcp_conn *c) {
  mp__tcp_timeouts *t = c->timeouts;
  if (!t) return;
  if (t->read.user == ARMED) mp__timer_cancel(c->h.b->loop, &t->read);
  if (t->write.user == ARMED) mp__timer_cancel(c->h.b->loop, &t->write);
}

void mp__tcp_timeouts_free(mp__tcp_conn *c) {
  free(c->timeouts);
  c->timeouts = NULL;
}
