/* check.h: the C tests' harness. Each test program runs one case, named on
 * its command line, in its own process (ctest adds the timeout). The port
 * backend comes from MOONPORT_BACKEND; exit 77 skips when it is unavailable. */
#ifndef MP_CHECK_H
#define MP_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"
#include "port/port.h"

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ(a, b)                                                                             \
  do {                                                                                             \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                \
    if (check_a_ != check_b_) {                                                                    \
      fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a,    \
              #b, check_a_, check_b_);                                                             \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

#define SKIP_CODE 77

typedef struct test_case {
  const char *name;
  void (*fn)(void);
} test_case;

/* Sleep without a platform call of our own: a timed wait nobody signals. */
static inline void test_sleep_ms(int ms) {
  mp__mutex m;
  mp__cond c;
  mp__mutex_init(&m);
  mp__cond_init(&c);
  mp__mutex_lock(&m);
  uint64_t until = mp__now_ns() + (uint64_t)ms * 1000000u;
  while (mp__now_ns() < until)
    mp__cond_wait(&c, &m, ms);
  mp__mutex_unlock(&m);
  mp__cond_destroy(&c);
  mp__mutex_destroy(&m);
}

/* The backend under test, or exit 77 if it cannot run here. */
static inline const mp_port_backend *test_backend(void) {
  const mp_port_backend *b = mp__port_choose(NULL);
  if (!b) {
    const char *name = getenv("MOONPORT_BACKEND");
    printf("SKIP: backend %s is not available here\n", name ? name : "(default)");
    exit(SKIP_CODE);
  }
  return b;
}

static inline int test_main(int argc, char **argv, const test_case *cases) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
  }
  for (const test_case *c = cases; c->name; c++) {
    if (strcmp(c->name, argv[1]) == 0) {
      c->fn();
      printf("PASS: %s\n", c->name);
      return 0;
    }
  }
  fprintf(stderr, "%s: no test case %s\n", argv[0], argv[1]);
  return 2;
}

#endif
