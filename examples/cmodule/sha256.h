/* sha256.h: SHA-256 (FIPS 180-4), incremental. Pure computation: any
 * thread, one context per thread at a time. */
#ifndef CMODULE_SHA256_H
#define CMODULE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

typedef struct sha256_ctx {
  uint32_t state[8];
  uint64_t length;   /* bytes hashed so far */
  uint8_t block[64]; /* the block being filled */
  size_t block_used;
} sha256_ctx;

void sha256_init(sha256_ctx *ctx);
void sha256_update(sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_SIZE]);

/* digest as 64 lowercase hex digits and a NUL. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char hex[2 * SHA256_DIGEST_SIZE + 1]);

#endif
