/**
 * @file priv.h  What the site codecs share: strict reading of a body
 */

int site_refuse(char *why, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *site_excerpt(char *buf, size_t bsz, const char *s);
const char *site_unknown_key(const json_t *obj, const char *const *keys);
int site_version_check(const json_t *obj, char *why, size_t sz);
int site_load(json_t **objp, const char *body, size_t len,
	      const char *const *keys, char *why, size_t sz);
