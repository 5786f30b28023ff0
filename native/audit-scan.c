// The range scan of audit/store-scan.ts `scanAuditRange`, in C: the same test, byte for byte, without a
// JavaScript call per hash. SHA-256 is OpenSSL's, the copy inside Node (its symbols are exported to addons),
// through the low-level SHA256_* calls: one-shot and EVP digests fetch the algorithm on every call, which costs
// more than hashing a record. UTF-8 is checked where the text may hold anything but ASCII: in strings and keys.
//
// scanRange(leaves, prevs, leafHashes, chains, rows, from, wantSeq, wantChain) answers
//   1  every row accepted (the range whole),
//   0  not accepted,
//  -1  not decided here: a number is written in a form only JavaScript's own Number-to-String can judge
//      (an exponent, more than 15 significant digits); the caller scans the range in JavaScript.
// The layout is store-scan.ts `AuditRangeBytes`: leaves joined by 0x0A; the three hash columns each as
// 64-character values joined by ','. The same scan runs inside SQLite as the aggregate `audit_scan_range` (below).
// INVARIANT: kept in step with store-scan.ts: test/audit/verify-store-ranges.test.ts runs both on the same ranges
// and requires the same answer wherever this one decides; test/audit/native-fuzz.test.ts runs it under sanitizers.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/sha.h>
#include <sqlite3ext.h>
#include <stdint.h>
#include <string.h>

SQLITE_EXTENSION_INIT1

#define MAX_DEPTH 64
#define UNDECIDED (-2)

typedef struct {
  const uint8_t *b;
  size_t n;
  int64_t value; /* the last number read by number_end, when it is an integer */
  int is_int;    /* whether it is */
  /* open containers: whether each is an object, and where its last key is */
  uint8_t is_object[MAX_DEPTH];
  long last_key[MAX_DEPTH];
  long last_key_end[MAX_DEPTH];
} scan_t;

static int at(const scan_t *s, long i) { return i >= 0 && (size_t)i < s->n ? s->b[i] : -1; }

/* Whether `lit` (ASCII) is at i: the index after it, or -1. */
static long lit(const scan_t *s, long i, const char *l) {
  if (i < 0) return -1;
  size_t k = strlen(l);
  if ((size_t)i + k > s->n || memcmp(s->b + i, l, k) != 0) return -1;
  return i + (long)k;
}

/* Eight bytes at p (unaligned), as one word. */
static uint64_t word_at(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The length of the UTF-8 sequence starting at b[i] (a byte of 0x80 or more) as node:buffer isUtf8 takes it
   (RFC 3629: no overlong form, no surrogate, nothing past U+10FFFF, nothing cut short), or 0 when it is none. */
static int utf8_len(const uint8_t *b, long i, long n) {
  uint8_t c = b[i];
  int len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (int k = 1; k < len; k++) {
    uint8_t d = b[i + k];
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  return len;
}

/* The index of the first byte from i that is not a plain ASCII string character (it is below 32 or 0x80 and up,
   or '"' or '\\'), or n. Eight bytes at a time while none of them is one, then byte by byte. */
static long plain_run_end(const uint8_t *b, long i, long n) {
  for (; i + 8 <= n; i += 8) {
    uint64_t w = word_at(b + i);
    uint64_t q = w ^ (ONES * '"');
    uint64_t s = w ^ (ONES * '\\');
    /* Nonzero exactly when some byte is below 32 or 0x80 and up, or is '"' or '\\' (q's and s's high bits are
       w's); its lowest set bit is in the first such byte (a borrow only runs upwards from it). */
    uint64_t flags = ((((w - ONES * 32) | (q - ONES) | (s - ONES)) & ~w) | w) & HIGHS;
    if (flags != 0) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return i + (__builtin_ctzll(flags) >> 3);
#else
      break;
#endif
    }
  }
  int c;
  while (i < n && (c = b[i]) >= 32 && c < 0x80 && c != '"' && c != '\\') i++;
  return i;
}

/* From i, past plain ASCII string characters and UTF-8 sequences of at most `longest` bytes: the index of the first
   byte that is neither (below 32, '"' or '\\'), n at the end, or -1 at a sequence not UTF-8 or longer. */
static long text_run_end(const uint8_t *b, long i, long n, int longest) {
  for (;;) {
    i = plain_run_end(b, i, n);
    if (i >= n || b[i] < 0x80) return i;
    int k = utf8_len(b, i, n);
    if (k == 0 || k > longest) return -1;
    i += k;
  }
}

/* The end of the string at i if JSON.stringify writes it so, or -1 (see store-scan.ts stringEnd; its text is
   UTF-8, which the caller there checks of the whole and this checks character by character). */
static long string_end(const scan_t *s, long i) {
  if (at(s, i) != '"') return -1;
  i++;
  long n = (long)s->n;
  for (;;) {
    i = text_run_end(s->b, i, n, 4);
    if (i < 0 || i >= n || s->b[i] < 32) return -1;
    if (s->b[i] == '"') return i + 1;
    /* A backslash. */
    int e = at(s, i + 1);
    if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
      i += 2;
      continue;
    }
    if (e != 'u' || at(s, i + 2) != '0' || at(s, i + 3) != '0') return -1;
    int h = at(s, i + 4), l = at(s, i + 5);
    int ok = h == '0' ? (l >= '0' && l <= '7') || l == 'b' || l == 'e' || l == 'f' : h == '1' && ((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f'));
    if (!ok) return -1;
    i += 6;
  }
}

static long nullable_end(const scan_t *s, long i) { return at(s, i) == 'n' ? lit(s, i, "null") : string_end(s, i); }

/* A key: '"', plain characters of the BMP, no escapes, '"' (characters outside the BMP, 4-byte sequences, are
   left to the record path, as store-scan.ts keyEnd leaves them). */
static long key_end(const scan_t *s, long i) {
  if (at(s, i) != '"') return -1;
  i = text_run_end(s->b, i + 1, (long)s->n, 3);
  return i >= 0 && at(s, i) == '"' ? i + 1 : -1;
}

/* Whether the key at [a, a_end) sorts strictly before the one at [c, c_end) (UTF-8 bytes of the BMP: as UTF-16). */
static int key_before(const scan_t *s, long a, long a_end, long c, long c_end) {
  for (; a < a_end && c < c_end; a++, c++) {
    uint8_t x = s->b[a], y = s->b[c];
    if (x != y) return x < y;
  }
  return a == a_end && c < c_end;
}

static long member_key(scan_t *s, long i, int level) {
  long end = key_end(s, i);
  if (end < 0) return -1;
  long prev = s->last_key[level];
  if (prev >= 0 && !key_before(s, prev, s->last_key_end[level], i + 1, end - 1)) return -1;
  s->last_key[level] = i + 1;
  s->last_key_end[level] = end - 1;
  return at(s, end) == ':' ? end + 1 : -1;
}

/* A number at i: its end when it is written as JavaScript writes its value (String(Number(token))), -1 when it is
   not (or is no JSON number), UNDECIDED when only JavaScript's own conversion can tell. Decided here: integers of
   at most 15 digits (s->value gets them), and fractions without an exponent of at most 15 significant digits,
   which a double holds exactly enough that the shortest form JavaScript writes is those very digits, in fixed
   notation when the value is at least 1e-6 (so JavaScript writes them so when they have no trailing zero). */
static long number_end(scan_t *s, long i) {
  int negative = 0;
  if (at(s, i) == '-') {
    negative = 1;
    i++;
  }
  long int_start = i;
  int c = at(s, i);
  int64_t v = 0;
  if (c == '0') {
    i++;
  } else if (c >= '1' && c <= '9') {
    while ((c = at(s, i)) >= '0' && c <= '9') {
      if (i - int_start < 18) v = v * 10 + (c - '0');
      i++;
    }
  } else {
    return -1;
  }
  long int_digits = i - int_start;
  long frac_start = -1, frac_end = -1;
  int exponent = 0;
  if (at(s, i) == '.') {
    i++;
    frac_start = i;
    while ((c = at(s, i)) >= '0' && c <= '9') i++;
    if (i == frac_start) return -1;
    frac_end = i;
  }
  if (at(s, i) == 'e') {
    exponent = 1;
    i++;
    if (at(s, i) == '+' || at(s, i) == '-') i++;
    long e = i;
    while ((c = at(s, i)) >= '0' && c <= '9') i++;
    if (i == e) return -1;
  }
  s->is_int = 0;
  if (exponent) return UNDECIDED;
  if (frac_start < 0) {
    if (int_digits > 15) return UNDECIDED;
    if (negative && v == 0) return -1; /* JavaScript writes -0 as 0 */
    s->value = negative ? -v : v;
    s->is_int = 1;
    return i;
  }
  if (s->b[frac_end - 1] == '0') return -1; /* it writes no trailing zero */
  long significant;
  if (int_digits == 1 && s->b[int_start] == '0') {
    long zeros = 0;
    while (s->b[frac_start + zeros] == '0') zeros++;
    if (zeros > 5) return -1; /* below 1e-6: it writes an exponent */
    significant = frac_end - frac_start - zeros;
  } else {
    significant = int_digits + (frac_end - frac_start);
  }
  return significant <= 15 ? i : UNDECIDED;
}

/* The end of the canonical JSON value at i, or -1, or UNDECIDED. */
static long value_end(scan_t *s, long i) {
  int depth = 0;
  int c = at(s, i);
  for (;;) {
    if (c == '{' || c == '[') {
      int close = c == '{' ? '}' : ']';
      if (at(s, i + 1) == close) {
        i += 2;
      } else {
        if (depth == MAX_DEPTH) return -1;
        s->is_object[depth] = c == '{';
        s->last_key[depth] = -1;
        s->last_key_end[depth] = -1;
        depth++;
        i++;
        if (c == '{' && (i = member_key(s, i, depth - 1)) < 0) return -1;
        c = at(s, i);
        continue;
      }
    } else if (c == '"') {
      if ((i = string_end(s, i)) < 0) return -1;
    } else if (c == 't') {
      if ((i = lit(s, i, "true")) < 0) return -1;
    } else if (c == 'f') {
      if ((i = lit(s, i, "false")) < 0) return -1;
    } else if (c == 'n') {
      if ((i = lit(s, i, "null")) < 0) return -1;
    } else if ((i = number_end(s, i)) < 0) {
      return i;
    }
    for (;;) {
      if (depth == 0) return i;
      c = at(s, i);
      int in_object = s->is_object[depth - 1];
      if (c == ',') {
        i++;
        if (in_object && (i = member_key(s, i, depth - 1)) < 0) return -1;
        break;
      }
      if (c != (in_object ? '}' : ']')) return -1;
      i++;
      depth--;
    }
    c = at(s, i);
  }
}

#define STEP(expr)            \
  do {                        \
    long r_ = (expr);         \
    if (r_ < 0) return r_;    \
    i = r_;                   \
  } while (0)

/* The end of the canonical leaf text at i with seq `seq` (store-scan.ts leafTextEnd), or -1, or UNDECIDED. */
static long leaf_text_end(scan_t *s, long i, int64_t seq) {
  STEP(lit(s, i, "{\"body\":"));
  if (at(s, i) != '{') return -1;
  STEP(value_end(s, i));
  STEP(lit(s, i, ",\"onBehalfOf\":"));
  STEP(nullable_end(s, i));
  STEP(lit(s, i, ",\"principal\":"));
  STEP(nullable_end(s, i));
  STEP(lit(s, i, ",\"runId\":"));
  STEP(nullable_end(s, i));
  STEP(lit(s, i, ",\"schemaVersion\":"));
  STEP(number_end(s, i));
  if (!s->is_int) return -1;
  STEP(lit(s, i, ",\"seq\":"));
  STEP(number_end(s, i));
  if (!s->is_int || s->value != seq) return -1;
  STEP(lit(s, i, ",\"time\":"));
  STEP(string_end(s, i));
  STEP(lit(s, i, ",\"type\":"));
  STEP(string_end(s, i));
  return at(s, i) == '}' ? i + 1 : -1;
}

/* Each byte's two lowercase hex characters: byte k's at 2k. */
static const char HEX2[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
    "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
    "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* Whether the SHA-256 in `ctx` finishes as the 64 lowercase hex characters at `want`. */
static int digest_is(SHA256_CTX *ctx, const uint8_t *want) {
  unsigned char md[32];
  char hex[64];
  SHA256_Final(md, ctx);
  for (int k = 0; k < 32; k++) memcpy(hex + 2 * k, HEX2 + 2 * md[k], 2);
  return memcmp(hex, want, 64) == 0;
}

static const char DOMAIN[] = "airlock-chain-v1";

/* Whether the row's hashes add up: sha256(0x00 || text) is `leaf`, sha256(domain || prev || leaf) is `chain`
   (each 64 lowercase hex characters as stored). */
static int hashes_hold(const uint8_t *text, size_t len, const uint8_t *prev, const uint8_t *leaf, const uint8_t *chain) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, "", 1); /* the 0x00 before a leaf */
  SHA256_Update(&ctx, text, len);
  if (!digest_is(&ctx, leaf)) return 0;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, DOMAIN, 16);
  SHA256_Update(&ctx, prev, 64);
  SHA256_Update(&ctx, leaf, 64);
  return digest_is(&ctx, chain);
}

/* The scan of a range as bytes: 1 accepted, 0 not, -1 undecided (see the top of the file). */
static int scan_range(const uint8_t *L, size_t nl, const uint8_t *P, size_t np, const uint8_t *H, size_t nh, const uint8_t *C, size_t nc,
                      int64_t rows, int64_t from, int64_t want_seq, const uint8_t *want_chain, size_t nw) {
  if (rows <= 0) return rows == 0 && nl == 0 && np == 0 && nh == 0 && nc == 0;
  size_t field = (size_t)rows * 65 - 1;
  if (np != field || nh != field || nc != field) return 0;
  for (int64_t k = 0; k + 1 < rows; k++) {
    size_t sep = (size_t)k * 65 + 64;
    if (P[sep] != ',' || H[sep] != ',' || C[sep] != ',') return 0;
  }
  scan_t s;
  s.b = L;
  s.n = nl;
  long lp = 0;
  for (int64_t k = 0; k < rows; k++) {
    int64_t seq = from + k;
    int last = k == rows - 1;
    long end = leaf_text_end(&s, lp, seq);
    if (end == UNDECIDED) return -1;
    if (end < 0 || (last ? (size_t)end != nl : (size_t)end >= nl || L[end] != '\n')) return 0;
    const uint8_t *prev = P + k * 65, *leaf = H + k * 65, *chain = C + k * 65;
    if (k > 0 && memcmp(prev, C + (k - 1) * 65, 64) != 0) return 0;
    if (!hashes_hold(L + lp, (size_t)(end - lp), prev, leaf, chain)) return 0;
    if (seq == want_seq && (nw != 64 || memcmp(chain, want_chain, 64) != 0)) return 0;
    lp = end + 1;
  }
  return 1;
}

static int bytes_of(napi_env env, napi_value v, const uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  size_t n;
  void *d;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &n, &d, &buffer, &offset) != napi_ok || type != napi_uint8_array) return 0;
  *data = n == 0 ? (const uint8_t *)"" : (const uint8_t *)d;
  *length = n;
  return 1;
}

static int integer_of(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != d || d < -9007199254740991.0 || d > 9007199254740991.0 || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

static napi_value scan_range_js(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc != 8) {
    napi_throw_type_error(env, NULL, "scanRange(leaves, prevs, leafHashes, chains, rows, from, wantSeq, wantChain)");
    return NULL;
  }
  const uint8_t *L, *P, *H, *C, *W;
  size_t nl, np, nh, nc, nw;
  int64_t rows, from, want_seq;
  if (!bytes_of(env, a[0], &L, &nl) || !bytes_of(env, a[1], &P, &np) || !bytes_of(env, a[2], &H, &nh) || !bytes_of(env, a[3], &C, &nc) ||
      !integer_of(env, a[4], &rows) || !integer_of(env, a[5], &from) || !integer_of(env, a[6], &want_seq) || !bytes_of(env, a[7], &W, &nw)) {
    napi_throw_type_error(env, NULL, "scanRange: four Uint8Arrays, three safe integers, a Uint8Array");
    return NULL;
  }
  napi_create_int32(env, scan_range(L, nl, P, np, H, nh, C, nc, rows, from, want_seq, W, nw), &result);
  return result;
}

/* ---- The same scan inside SQLite: an aggregate over the rows of a range, reading each stored value where
   SQLite holds it (no copy of the range, no JavaScript value). audit_scan_range(seq, leaf, prev_hash, leaf_hash,
   chain_hash, from, want_seq, want_chain) is NULL over no rows, else '0' (not accepted), '-' (undecided) or
   '1' followed by the first row's prev_hash and the last row's chain_hash. Rows must come in seq order from
   `from`, one after another: any other order is not accepted (then the caller verifies row by row). */

typedef struct {
  int started;
  int status; /* 1 accepted so far, 0 not, -1 undecided */
  int64_t next;
  int64_t want_seq;
  uint8_t want_chain[64];
  int has_want_chain;
  uint8_t first_prev[64];
  uint8_t last_chain[64];
  scan_t s;
} range_agg_t;

/* The 64 bytes of a stored hash, or NULL when it is not 64 bytes of text. */
static const uint8_t *hash_value(sqlite3_value *v) {
  if (sqlite3_value_type(v) != SQLITE_TEXT) return NULL;
  const uint8_t *t = sqlite3_value_text(v);
  return t != NULL && sqlite3_value_bytes(v) == 64 ? t : NULL;
}

static void range_step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  range_agg_t *a = sqlite3_aggregate_context(ctx, sizeof(range_agg_t));
  if (a == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (!a->started) {
    a->started = 1;
    a->status = 1;
    a->next = sqlite3_value_int64(argv[5]);
    a->want_seq = sqlite3_value_int64(argv[6]);
    const uint8_t *w = hash_value(argv[7]);
    a->has_want_chain = w != NULL;
    if (w != NULL) memcpy(a->want_chain, w, 64);
  }
  if (a->status != 1) return;
  int64_t seq = sqlite3_value_int64(argv[0]);
  const uint8_t *prev = hash_value(argv[2]), *leaf = hash_value(argv[3]), *chain = hash_value(argv[4]);
  if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || seq != a->next || sqlite3_value_type(argv[1]) != SQLITE_TEXT || prev == NULL || leaf == NULL || chain == NULL) {
    a->status = 0;
    return;
  }
  const uint8_t *text = sqlite3_value_text(argv[1]);
  size_t len = (size_t)sqlite3_value_bytes(argv[1]);
  if (text == NULL) {
    a->status = 0;
    return;
  }
  a->s.b = text;
  a->s.n = len;
  long end = leaf_text_end(&a->s, 0, seq);
  if (end == UNDECIDED) {
    a->status = -1;
    return;
  }
  int first = seq == sqlite3_value_int64(argv[5]);
  if (end < 0 || (size_t)end != len || (!first && memcmp(prev, a->last_chain, 64) != 0) || !hashes_hold(text, len, prev, leaf, chain) ||
      (seq == a->want_seq && (!a->has_want_chain || memcmp(chain, a->want_chain, 64) != 0))) {
    a->status = 0;
    return;
  }
  if (first) memcpy(a->first_prev, prev, 64);
  memcpy(a->last_chain, chain, 64);
  a->next = seq + 1;
}

static void range_final(sqlite3_context *ctx) {
  range_agg_t *a = sqlite3_aggregate_context(ctx, 0);
  if (a == NULL || !a->started) {
    sqlite3_result_null(ctx);
    return;
  }
  if (a->status != 1) {
    sqlite3_result_text(ctx, a->status == 0 ? "0" : "-", 1, SQLITE_STATIC);
    return;
  }
  char out[129];
  out[0] = '1';
  memcpy(out + 1, a->first_prev, 64);
  memcpy(out + 65, a->last_chain, 64);
  sqlite3_result_text(ctx, out, 129, SQLITE_TRANSIENT);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_airlock_audit_scan_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)err;
  return sqlite3_create_function(db, "audit_scan_range", 8, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL, range_step, range_final);
}

// merkleExtend(frontier, size, leaves): audit/merkle.ts `extendFrontier` on bytes, for the checkpoints' RFC 9162 tree.
// `frontier` is the roots of the perfect subtrees of a tree of `size` leaves (32 bytes each, largest first, as many
// as `size` has bits set); `leaves` are leaf hashes to append (32 bytes each). Answers the frontier after them.
// One node hash per leaf, SHA-256(0x01 || left || right), each a few hundred nanoseconds here against microseconds
// through node:crypto. INVARIANT: the same frontier as merkle.ts (test/audit/merkle.test.ts compares them).
static void node_hash(const uint8_t *left, const uint8_t *right, uint8_t *out) {
  static const uint8_t NODE = 0x01;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &NODE, 1);
  SHA256_Update(&ctx, left, 32);
  SHA256_Update(&ctx, right, 32);
  SHA256_Final(out, &ctx); /* out may be left: Update has taken the bytes in already */
}

static int bits_set(uint64_t n) {
  int c = 0;
  for (; n; n >>= 1) c += (int)(n & 1);
  return c;
}

static napi_value merkle_extend_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  const uint8_t *F, *L;
  size_t nf, nl;
  int64_t size;
  uint8_t stack[64 * 32];
  napi_value out_buffer;
  void *out;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc != 3 || !bytes_of(env, a[0], &F, &nf) || !integer_of(env, a[1], &size) ||
      !bytes_of(env, a[2], &L, &nl)) {
    napi_throw_type_error(env, NULL, "merkleExtend(frontier: Uint8Array, size: safe integer, leaves: Uint8Array)");
    return NULL;
  }
  if (size < 0 || nf % 32 != 0 || nl % 32 != 0 || (int)(nf / 32) != bits_set((uint64_t)size) || (uint64_t)size + nl / 32 > 9007199254740991ull) {
    napi_throw_range_error(env, NULL, "merkleExtend: the frontier does not fit a tree of that size, or the leaves are not 32 bytes each");
    return NULL;
  }
  /* At most one subtree per bit of a size below 2^53, and one leaf on top: 54 of the 64 places. */
  size_t depth = nf / 32;
  memcpy(stack, F, nf);
  uint64_t n = (uint64_t)size;
  for (size_t i = 0; i < nl / 32; i++, n++) {
    memcpy(stack + depth * 32, L + i * 32, 32);
    depth++;
    for (uint64_t t = n; t & 1; t >>= 1, depth--) node_hash(stack + (depth - 2) * 32, stack + (depth - 1) * 32, stack + (depth - 2) * 32);
  }
  if (napi_create_buffer(env, depth * 32, &out, &out_buffer) != napi_ok) return NULL;
  memcpy(out, stack, depth * 32);
  return out_buffer;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "scanRange", NAPI_AUTO_LENGTH, scan_range_js, NULL, &fn);
  napi_set_named_property(env, exports, "scanRange", fn);
  napi_create_function(env, "merkleExtend", NAPI_AUTO_LENGTH, merkle_extend_js, NULL, &fn);
  napi_set_named_property(env, exports, "merkleExtend", fn);
  return exports;
}
