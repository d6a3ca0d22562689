/* io.c: mp_io, a C module's own handle on the port (moonport.h): the
 * module's ops around the port's (port/io.h), the loop's count, and the
 * state that outlives the module's mp_io until the kernel lets go. */
#include <stdint.h>
#include <stdlib.h>

#include "core/loop.h"
#include "port/io.h"

/* The state behind an mp_io, allocated by mp_io_open. The module's mp_io
 * points at it until mp_io_close; it lives on, in the loop's list, until
 * its close op has completed (or the loop is freed). The port only ever
 * holds read_op and close_op, ours: the module's ops are completed from
 * their callbacks, so the module's mp_io itself is never referred to. A
 * read and a wait are the same to this file: one read-side op, which the
 * port completes with its result. */
typedef struct mp__io_state {
  mp__io_os os;
  mp_loop *loop;
  struct mp__io_state *prev, *next; /* the loop's list (loop->ios) */
  mp_op read_op, close_op;
  mp_op *reader; /* the module's read or wait in flight, or NULL */
  mp_op *closer; /* the module's close op, or NULL */
} mp__io_state;

static void unlink_state(mp__io_state *st) {
  if (st->prev) {
    st->prev->next = st->next;
  } else {
    st->loop->ios = st->next;
  }
  if (st->next) st->next->prev = st->prev;
}

static void read_done(mp_loop *loop, mp_op *op) {
  mp__io_state *st = MP_CONTAINER_OF(op, mp__io_state, read_op);
  mp_op *reader = st->reader;
  st->reader = NULL;
  reader->result = op->result;
  mp_loop_unref(loop);
  reader->cb(loop, reader);
}

/* The kernel holds nothing of the handle any more: the state goes, and
 * the module hears of it if it asked. */
static void close_done(mp_loop *loop, mp_op *op) {
  mp__io_state *st = MP_CONTAINER_OF(op, mp__io_state, close_op);
  mp_op *closer = st->closer;
  unlink_state(st);
  free(st);
  mp_loop_unref(loop);
  if (closer) {
    closer->result = 0;
    closer->cb(loop, closer);
  }
}

int mp_io_open(mp_loop *loop, mp_io *io, mp_os_handle handle) {
  io->loop = loop;
  io->state_ = NULL;
  mp__io_state *st = calloc(1, sizeof *st);
  if (!st) return MP_ENOMEM;
  int rc = mp__io_os_open(&st->os, loop->port, handle);
  if (rc < 0) {
    free(st);
    return rc;
  }
  st->loop = loop;
  st->read_op.cb = read_done;
  st->close_op.cb = close_done;
  st->next = loop->ios;
  if (st->next) st->next->prev = st;
  loop->ios = st;
  io->state_ = st;
  return 0;
}

/* Make op the io's read-side op, or complete it, later, with why not
 * (then NULL). */
static mp__io_state *start_reader(mp_io *io, mp_op *op) {
  mp__io_state *st = io->state_;
  if (!st || st->reader) {
    mp__loop_defer(io->loop, op, st ? MP_EBUSY : MP_ECLOSED);
    return NULL;
  }
  st->reader = op;
  mp_loop_ref(io->loop);
  return st;
}

void mp_io_wait_readable(mp_io *io, mp_op *op) {
  mp__io_state *st = start_reader(io, op);
  if (st) mp__io_os_wait_readable(&st->os, &st->read_op);
}

void mp_io_read(mp_io *io, mp_op *op, void *buf, uint32_t len) {
  if (len == 0) {
    /* Its 0 would read as the end of file. */
    mp__loop_defer(io->loop, op, MP_EINVAL);
    return;
  }
  /* The count must fit op->result. */
  if (len > INT32_MAX) len = INT32_MAX;
  mp__io_state *st = start_reader(io, op);
  if (st) mp__io_os_read(&st->os, &st->read_op, buf, len);
}

void mp_io_close(mp_io *io, mp_op *op) {
  mp__io_state *st = io->state_;
  if (!st) {
    if (op) mp__loop_defer(io->loop, op, MP_ECLOSED);
    return;
  }
  io->state_ = NULL;
  st->closer = op;
  mp_loop_ref(io->loop);
  mp__io_os_close(&st->os, &st->close_op);
}

void mp__io_free_all(mp_loop *loop) {
  while (loop->ios) {
    mp__io_state *st = loop->ios;
    loop->ios = st->next;
    mp__io_os_discard(&st->os);
    free(st);
  }
}
