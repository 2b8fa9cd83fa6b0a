/**
 * @file static.h  The web desktop's files (web-root) on the HTTP port;
 * private to src/http (and its unit test)
 */

struct httpd_static;
struct http_conn;
struct http_msg;
struct pl;

enum {
	HTTPD_STATIC_PATH_MAX = 256,	 /**< relative path, with its NUL */
	HTTPD_STATIC_SIZE_MAX = 1 << 20, /**< largest file served [bytes] */
};

int httpd_static_alloc(struct httpd_static **sp, const char *root);
void httpd_static_serve(struct httpd_static *st, struct http_conn *hc,
			const struct http_msg *msg);
int httpd_static_path(char *rel, size_t sz, const struct pl *path);
const char *httpd_static_ctype(const char *rel);
