/* test_io.c: mp_io, a C module's own handle on the port: waits on a pipe
 * complete once each, level-triggered; reads take what is there, wait for
 * more and see the end; a second read or wait is refused; close cancels
 * the read or wait in flight before its own op completes; use after close;
 * a loop freed with handles open closes them. The pipe is each OS's own
 * (pipe_helper.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/loop.h"
#include "pipe_helper.h"

/* An op that counts its callbacks and keeps the order they came in. */
typedef struct counted_op {
  mp_op op;
  int calls;
  int result;
  int order;
} counted_op;

static int completions; /* callbacks so far, for the order */

static void on_counted(mp_loop *loop, mp_op *op) {
  (void)loop;
  counted_op *c = MP_CONTAINER_OF(op, counted_op, op);
  c->calls++;
  c->result = op->result;
  c->order = ++completions;
}

static counted_op counted(void) {
  counted_op c = {.op = {.cb = on_counted}};
  return c;
}

static mp_loop *new_loop(void) {
  test_backend();
  mp_loop *loop;
  CHECK_EQ(mp__loop_new(&loop, NULL, 0), 0);
  return loop;
}

/* A pipe whose read end io owns. */
static test_pipe open_pipe(mp_loop *loop, mp_io *io) {
  test_pipe p = test_pipe_open();
  CHECK_EQ(mp_io_open(loop, io, p.read_end), 0);
  CHECK(io->loop == loop);
  return p;
}

/* Work that writes one byte into a pipe from a work thread, a little later. */
typedef struct late_write {
  mp_work work;
  test_pipe *pipe;
} late_write;

static void write_later(mp_work *w) {
  late_write *lw = MP_CONTAINER_OF(w, late_write, work);
  test_sleep_ms(20);
  w->op.result = test_pipe_write(lw->pipe, "x", 1);
}

static void on_written(mp_loop *loop, mp_op *op) {
  (void)loop;
  CHECK_EQ(op->result, 1);
}

/* A wait parks until another thread writes, then completes once; data
 * left unread completes the next wait at once; a drained pipe parks it. */
static void wait_level_triggered(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op wait = counted();
  mp_io_wait_readable(&io, &wait.op);
  late_write lw = {.work = {.fn = write_later, .op = {.cb = on_written}}, .pipe = &p};
  CHECK_EQ(mp_work_submit(loop, &lw.work), 0);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(wait.calls, 1);
  CHECK_EQ(wait.result, 0);

  /* Ten more bytes, three read: the next wait completes without new data. */
  CHECK_EQ(test_pipe_write(&p, "0123456789", 10), 10);
  char buf[16];
  mp_io_wait_readable(&io, &wait.op);
  CHECK_EQ(wait.calls, 1); /* never from inside the call */
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(wait.calls, 2);
  CHECK_EQ(test_pipe_read(&p, buf, 3), 3);
  mp_io_wait_readable(&io, &wait.op);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(wait.calls, 3);
  CHECK_EQ(test_pipe_read(&p, buf, sizeof buf), 8); /* the rest, the late byte first */

  /* Drained: the wait parks and keeps the loop alive; an idle io does not. */
  CHECK_EQ(test_pipe_read(&p, buf, sizeof buf), -1);
  mp_io_wait_readable(&io, &wait.op);
  CHECK(mp__loop_alive(loop));
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(wait.calls, 4);
  CHECK_EQ(wait.result, MP_ECANCELED);
  CHECK(!mp__loop_alive(loop));
  test_pipe_close_writer(&p);
  mp__loop_free(loop);
}

/* The writer's end closed: the wait completes (a read sees the end). */
static void end_of_pipe_is_readable(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op wait = counted();
  mp_io_wait_readable(&io, &wait.op);
  test_pipe_close_writer(&p);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(wait.calls, 1);
  CHECK_EQ(wait.result, 0);
  char buf[4];
  CHECK_EQ(test_pipe_read(&p, buf, sizeof buf), 0);
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  mp__loop_free(loop);
}

/* Close with a wait in flight: the wait completes with MP_ECANCELED, then
 * the close op; each once. After it: waits MP_ECLOSED, a second close's op
 * MP_ECLOSED, and the handle is closed. */
static void close_cancels_then_completes(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op wait = counted(), closing = counted(), again = counted(), after = counted();
  mp_io_wait_readable(&io, &wait.op);
  mp_io_close(&io, &closing.op);
  mp_io_close(&io, &again.op);
  mp_io_wait_readable(&io, &after.op);
  CHECK_EQ(wait.calls + closing.calls + again.calls + after.calls, 0);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(wait.calls, 1);
  CHECK_EQ(wait.result, MP_ECANCELED);
  CHECK_EQ(closing.calls, 1);
  CHECK_EQ(closing.result, 0);
  CHECK(wait.order < closing.order);
  CHECK_EQ(again.calls, 1);
  CHECK_EQ(again.result, MP_ECLOSED);
  CHECK_EQ(after.calls, 1);
  CHECK_EQ(after.result, MP_ECLOSED);
  CHECK(test_handle_closed(p.read_end));
  test_pipe_close_writer(&p);
  mp__loop_free(loop);
}

/* A second wait while one is in flight completes with MP_EBUSY, later;
 * the first one is untouched. */
static void second_wait_busy(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op first = counted(), second = counted();
  mp_io_wait_readable(&io, &first.op);
  mp_io_wait_readable(&io, &second.op);
  CHECK_EQ(second.calls, 0);
  CHECK_EQ(test_pipe_write(&p, "x", 1), 1);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(second.calls, 1);
  CHECK_EQ(second.result, MP_EBUSY);
  CHECK_EQ(first.calls, 1);
  CHECK_EQ(first.result, 0);
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  test_pipe_close_writer(&p);
  mp__loop_free(loop);
}

/* Reads take what is there, up to their length, and complete later, never
 * inside the call; on an empty pipe one parks (keeping the loop alive)
 * until another thread writes. */
static void read_takes_what_is_there(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op read = counted();
  char buf[8];
  CHECK_EQ(test_pipe_write(&p, "0123456789", 10), 10);
  mp_io_read(&io, &read.op, buf, 4);
  CHECK_EQ(read.calls, 0); /* never from inside the call */
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 1);
  CHECK_EQ(read.result, 4);
  CHECK(memcmp(buf, "0123", 4) == 0);
  mp_io_read(&io, &read.op, buf, sizeof buf);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 2);
  CHECK_EQ(read.result, 6);
  CHECK(memcmp(buf, "456789", 6) == 0);

  /* Empty: the read parks until the work thread's byte comes. */
  mp_io_read(&io, &read.op, buf, sizeof buf);
  CHECK(mp__loop_alive(loop));
  late_write lw = {.work = {.fn = write_later, .op = {.cb = on_written}}, .pipe = &p};
  CHECK_EQ(mp_work_submit(loop, &lw.work), 0);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 3);
  CHECK_EQ(read.result, 1);
  CHECK_EQ(buf[0], 'x');
  CHECK_EQ(test_pipe_read(&p, buf, sizeof buf), -1); /* nothing left behind */
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  test_pipe_close_writer(&p);
  mp__loop_free(loop);
}

/* The writer's end closed: what it wrote first, then 0, also for a read
 * parked before the close, and again for every read after. */
static void read_end_of_pipe(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op read = counted();
  char buf[8];
  CHECK_EQ(test_pipe_write(&p, "ab", 2), 2);
  test_pipe_close_writer(&p);
  mp_io_read(&io, &read.op, buf, sizeof buf);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 1);
  CHECK_EQ(read.result, 2);
  mp_io_read(&io, &read.op, buf, sizeof buf);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 2);
  CHECK_EQ(read.result, 0);
  mp_io_read(&io, &read.op, buf, sizeof buf);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 3);
  CHECK_EQ(read.result, 0);
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);

  p = open_pipe(loop, &io);
  mp_io_read(&io, &read.op, buf, sizeof buf);
  CHECK_EQ(read.calls, 3); /* parked: the pipe is empty */
  test_pipe_close_writer(&p);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 4);
  CHECK_EQ(read.result, 0);
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  mp__loop_free(loop);
}

/* With a read in flight, another read or a wait completes with MP_EBUSY
 * (later), and a read of nothing with MP_EINVAL; the first read is
 * untouched and gets the bytes. */
static void read_busy_and_bad_length(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op first = counted(), second = counted(), wait = counted(), empty = counted();
  char buf[4], other[4];
  mp_io_read(&io, &first.op, buf, sizeof buf);
  mp_io_read(&io, &second.op, other, sizeof other);
  mp_io_wait_readable(&io, &wait.op);
  mp_io_read(&io, &empty.op, other, 0);
  CHECK_EQ(second.calls + wait.calls + empty.calls, 0);
  CHECK_EQ(test_pipe_write(&p, "x", 1), 1);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(second.calls, 1);
  CHECK_EQ(second.result, MP_EBUSY);
  CHECK_EQ(wait.calls, 1);
  CHECK_EQ(wait.result, MP_EBUSY);
  CHECK_EQ(empty.calls, 1);
  CHECK_EQ(empty.result, MP_EINVAL);
  CHECK_EQ(first.calls, 1);
  CHECK_EQ(first.result, 1);
  CHECK_EQ(buf[0], 'x');
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  test_pipe_close_writer(&p);
  mp__loop_free(loop);
}

/* Close with a read parked: exactly one completion, MP_ECANCELED, before
 * the close op's; a read after close completes with MP_ECLOSED. */
static void read_close_cancels(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op read = counted(), closing = counted(), after = counted();
  char buf[4];
  mp_io_read(&io, &read.op, buf, sizeof buf);
  mp_io_close(&io, &closing.op);
  mp_io_read(&io, &after.op, buf, sizeof buf);
  CHECK_EQ(read.calls + closing.calls + after.calls, 0);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 1);
  CHECK_EQ(read.result, MP_ECANCELED);
  CHECK_EQ(closing.calls, 1);
  CHECK_EQ(closing.result, 0);
  CHECK(read.order < closing.order);
  CHECK_EQ(after.calls, 1);
  CHECK_EQ(after.result, MP_ECLOSED);
  CHECK(test_handle_closed(p.read_end));
  /* Bytes written now reach nobody, and no callback comes again. */
  test_pipe_close_writer(&p);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 1);
  mp__loop_free(loop);
}

/* A message-mode pipe: a message longer than the read comes in pieces
 * (ERROR_MORE_DATA counts as the bytes read, its packet comes once), and a
 * read takes one message at most. Windows only. */
static void read_message_pipe_in_pieces(void) {
  mp_loop *loop = new_loop();
  test_pipe p;
  if (!test_message_pipe_open(&p)) {
    printf("SKIP: no message-mode pipes here\n");
    mp__loop_free(loop);
    exit(SKIP_CODE);
  }
  mp_io io;
  CHECK_EQ(mp_io_open(loop, &io, p.read_end), 0);
  counted_op read = counted();
  char buf[4];
  CHECK_EQ(test_pipe_write(&p, "0123456789", 10), 10);
  CHECK_EQ(test_pipe_write(&p, "ab", 2), 2);
  static const struct {
    int result;
    const char *bytes;
  } pieces[] = {{4, "0123"}, {4, "4567"}, {2, "89"}, {2, "ab"}};
  for (int i = 0; i < 4; i++) {
    mp_io_read(&io, &read.op, buf, sizeof buf);
    CHECK_EQ(mp__loop_run(loop), 0);
    CHECK_EQ(read.calls, i + 1);
    CHECK_EQ(read.result, pieces[i].result);
    CHECK(memcmp(buf, pieces[i].bytes, (size_t)pieces[i].result) == 0);
  }
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(read.calls, 4);
  test_pipe_close_writer(&p);
  mp__loop_free(loop);
}

/* A regular file is always ready; something that is no handle is refused
 * at open, and the io then counts as closed. */
static void regular_file_and_bad_handle(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  CHECK_EQ(mp_io_open(loop, &io, test_regular_file()), 0);
  counted_op wait = counted();
  mp_io_wait_readable(&io, &wait.op);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(wait.calls, 1);
  CHECK_EQ(wait.result, 0);
  mp_io_close(&io, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);

  mp_io bad;
  CHECK(mp_io_open(loop, &bad, test_bad_handle()) < 0);
  counted_op refused = counted();
  mp_io_wait_readable(&bad, &refused.op);
  mp_io_close(&bad, NULL);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(refused.calls, 1);
  CHECK_EQ(refused.result, MP_ECLOSED);
  mp__loop_free(loop);
}

/* A loop freed with an io open and a wait in flight closes the handle and
 * frees the io's state (ASan's leak check sees it); no callback. */
static void loop_freed_with_io_open(void) {
  mp_loop *loop = new_loop();
  mp_io io;
  test_pipe p = open_pipe(loop, &io);
  counted_op wait = counted();
  mp_io_wait_readable(&io, &wait.op);
  mp__loop_free(loop);
  CHECK_EQ(wait.calls, 0);
  CHECK(test_handle_closed(p.read_end));
  test_pipe_close_writer(&p);
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"wait_level_triggered", wait_level_triggered},
      {"end_of_pipe_is_readable", end_of_pipe_is_readable},
      {"close_cancels_then_completes", close_cancels_then_completes},
      {"second_wait_busy", second_wait_busy},
      {"regular_file_and_bad_handle", regular_file_and_bad_handle},
      {"loop_freed_with_io_open", loop_freed_with_io_open},
      {"read_takes_what_is_there", read_takes_what_is_there},
      {"read_end_of_pipe", read_end_of_pipe},
      {"read_busy_and_bad_length", read_busy_and_bad_length},
      {"read_close_cancels", read_close_cancels},
      {"read_message_pipe_in_pieces", read_message_pipe_in_pieces},
      {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
