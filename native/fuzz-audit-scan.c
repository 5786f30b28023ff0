// A fuzz run of audit-scan.c's byte scan under AddressSanitizer and UndefinedBehaviorSanitizer (built and run by
// test/audit/native-fuzz.test.ts): canonical leaf texts edited byte by byte, cut short, framed as one or two rows,
// their hashes recomputed half the time so the scan reaches its links and hashes. The stored rows are whatever
// someone with the database file left there, so no input may make the scan read or write out of bounds.
// The N-API calls are stubbed: only the scan itself runs here.
#include "audit-scan.c"
#include <stdio.h>
#include <stdlib.h>

napi_status napi_get_typedarray_info(napi_env e, napi_value v, napi_typedarray_type *t, size_t *l, void **d, napi_value *ab, size_t *o) {
  (void)e, (void)v, (void)t, (void)l, (void)d, (void)ab, (void)o;
  return napi_generic_failure;
}
napi_status napi_get_value_double(napi_env e, napi_value v, double *r) {
  (void)e, (void)v, (void)r;
  return napi_generic_failure;
}
napi_status napi_get_cb_info(napi_env e, napi_callback_info i, size_t *c, napi_value *a, napi_value *t, void **d) {
  (void)e, (void)i, (void)c, (void)a, (void)t, (void)d;
  return napi_generic_failure;
}
napi_status napi_throw_type_error(napi_env e, const char *c, const char *m) {
  (void)e, (void)c, (void)m;
  return napi_ok;
}
napi_status napi_create_int32(napi_env e, int32_t v, napi_value *r) {
  (void)e, (void)v, (void)r;
  return napi_ok;
}
napi_status napi_create_function(napi_env e, const char *n, size_t l, napi_callback cb, void *d, napi_value *r) {
  (void)e, (void)n, (void)l, (void)cb, (void)d, (void)r;
  return napi_ok;
}
napi_status napi_set_named_property(napi_env e, napi_value o, const char *n, napi_value v) {
  (void)e, (void)o, (void)n, (void)v;
  return napi_ok;
}

static void hex_of(const uint8_t *data, size_t n, int prefix, uint8_t *out) {
  unsigned char md[32];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  if (prefix) SHA256_Update(&ctx, "", 1);
  SHA256_Update(&ctx, data, n);
  SHA256_Final(md, &ctx);
  for (int k = 0; k < 32; k++) memcpy(out + 2 * k, HEX2 + 2 * md[k], 2);
}

static const char *const BASES[] = {
  "{\"body\":{\"a\":[1,2.5,-0.001,\"x\\u0001y\\n\",{\"b\":null,\"c\":true,\"d\":false}],\"k\xc3\xa9\":\"\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\",\"z\":{}},"
  "\"onBehalfOf\":null,\"principal\":\"p\",\"runId\":null,\"schemaVersion\":1,\"seq\":7,\"time\":\"t\",\"type\":\"x\"}",
  "{\"body\":{\"n\":[0,-5,123456789012345,1e21,0.000001,[[[]]]]},\"onBehalfOf\":\"u\",\"principal\":null,\"runId\":\"r\",\"schemaVersion\":1,"
  "\"seq\":7,\"time\":\"2025-01-01T00:00:00.000Z\",\"type\":\"action.intent\"}",
};

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 200000;
  srand(argc > 2 ? (unsigned)atoi(argv[2]) : 1);
  static uint8_t L[8192];
  long accepted = 0, undecided = 0, accepted_pairs = 0;
  for (long it = 0; it < iterations; it++) {
    int rows = 1 + rand() % 2;
    size_t n = 0;
    size_t ends[2];
    for (int r = 0; r < rows; r++) {
      const char *base = BASES[rand() % 2];
      size_t bl = strlen(base), start = n;
      memcpy(L + n, base, bl);
      if (r == 1) {
        /* The second row's seq is the first's plus one. */
        for (size_t k = n; k + 7 <= n + bl; k++) {
          if (memcmp(L + k, "\"seq\":7", 7) == 0) L[k + 6] = '8';
        }
      }
      n += bl;
      for (int e = rand() % 4; e > 0; e--) {
        size_t at = start + (size_t)rand() % (n - start + 1);
        int op = rand() % 3;
        if (op == 0 && at < n) {
          memmove(L + at, L + at + 1, n - at - 1);
          n--;
        } else if (op == 1 && n < 4000) {
          memmove(L + at + 1, L + at, n - at);
          L[at] = (uint8_t)(rand() % 256);
          n++;
        } else if (at < n) {
          L[at] = (uint8_t)(rand() % 256);
        }
      }
      ends[r] = n;
      if (r + 1 < rows) L[n++] = '\n';
    }
    size_t cut = rand() % 8 == 0 ? (size_t)rand() % (n + 1) : n;
    /* Exact-size heap copies, so the sanitizer sees a read one byte past any of them. */
    uint8_t *l = malloc(cut ? cut : 1);
    memcpy(l, L, cut);
    size_t f = (size_t)rows * 65 - 1 - (rand() % 16 == 0);
    uint8_t *p = malloc(f), *h = malloc(f), *c = malloc(f);
    memset(p, '0', f);
    memset(h, 'b', f);
    memset(c, 'c', f);
    if (rand() % 2) {
      /* Hashes that add up over the (edited) texts: the scan goes on to its hashes and links. */
      size_t from = 0;
      uint8_t input[144];
      memcpy(input, "airlock-chain-v1", 16);
      for (int r = 0; r < rows && (size_t)r * 65 + 64 <= f; r++) {
        size_t to = ends[r] < cut ? ends[r] : cut;
        hex_of(l + (from < to ? from : to), from < to ? to - from : 0, 1, h + r * 65);
        if (r > 0) memcpy(p + r * 65, c + (r - 1) * 65, 64);
        memcpy(input + 16, p + r * 65, 64);
        memcpy(input + 80, h + r * 65, 64);
        hex_of(input, 144, 0, c + r * 65);
        from = ends[r] + 1;
      }
    }
    for (int k = 0; k + 1 < rows; k++) {
      size_t sep = (size_t)k * 65 + 64;
      if (sep < f) p[sep] = h[sep] = c[sep] = ',';
    }
    int verdict = scan_range(l, cut, p, f, h, f, c, f, rows, 7 - (rand() % 8 == 0), rand() % 3 == 0 ? 7 : -1, c, f < 64 ? f : 64);
    accepted += verdict == 1;
    accepted_pairs += verdict == 1 && rows == 2;
    undecided += verdict < 0;
    free(l);
    free(p);
    free(h);
    free(c);
  }
  printf("%ld iterations, %ld accepted (%ld of two rows), %ld undecided\n", iterations, accepted, accepted_pairs, undecided);
  return 0;
}
