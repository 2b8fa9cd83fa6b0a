/**
 * @file static.c  The web desktop's files: GET/HEAD of web-root on the
 * HTTP port
 *
 * The desktop is plain files (web/), so serving it is reading a file, but
 * the port may face a whole contact centre: a request path is checked
 * before anything touches the file system. Only a strict path survives
 * httpd_static_path (letters, digits, `.`, `_`, `-`, `/`; no empty or
 * dot-led segment, so no `..`, no hidden file; escapes decoded first, so
 * `%2e%2e` is caught the same way); each name is opened without following
 * a link (a link inside web-root could lead anywhere); only a regular file up to HTTPD_STATIC_SIZE_MAX is
 * sent. Files are read per request: a desktop update needs no restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_msg.h>
#include <re_http.h>
#include "log/log.h"
#include "http/static.h"

enum {
	SEGMENT_MAX = 64, /* longest name of one folder or file */
};

struct httpd_static {
	char *root; /* web-root, resolved; opened per request */
};

/* The desktop's headers: no caching (a reload after an update gets the new
 * files), no sniffing, scripts and sockets from this server only */
#define HEADERS                                                                \
	"Cache-Control: no-cache\r\n"                                          \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"Referrer-Policy: no-referrer\r\n"                                     \
	"Content-Security-Policy: default-src 'self'; "                        \
	"connect-src 'self' ws: wss:; img-src 'self' data:; "                  \
	"frame-ancestors 'none'\r\n"

static void static_destructor(void *arg)
{
	struct httpd_static *st = arg;

	mem_deref(st->root);
}

/** root: the folder served; one that is missing is logged, not fatal:
 * the same port carries the CTI WebSocket, which needs no files */
int httpd_static_alloc(struct httpd_static **sp, const char *root)
{
	struct httpd_static *st;
	struct stat sb;
	int err;

	if (!sp || !root)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), static_destructor);
	if (!st)
		return ENOMEM;

	err = str_dup(&st->root, root);
	if (err) {
		mem_deref(st);
		return err;
	}

	if (stat(root, &sb) < 0 || !S_ISDIR(sb.st_mode))
		log_warn("http",
			 "web-root %s is not a folder: the desktop is not "
			 "served (every file is 404)",
			 root);

	*sp = st;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/**
 * The file a request path names, relative to web-root ("/" is
 * index.html, as is any path ending in "/")
 *
 * @param rel  the relative path, written only on success
 * @param path the request's path (no query), percent-escapes allowed
 *
 * @return 0, EINVAL (not a path this server would ever serve: not
 * absolute, a bad escape, a character outside the set, an empty or
 * dot-led segment), ENAMETOOLONG
 */
int httpd_static_path(char *rel, size_t sz, const struct pl *path)
{
	char buf[HTTPD_STATIC_PATH_MAX];
	size_t n = 0, seg = 0;

	if (!rel || !sz || !pl_isset(path) || path->p[0] != '/')
		return EINVAL;

	for (size_t i = 1; i < path->l; i++) {
		char c = path->p[i];

		if (c == '%') {
			int hi = i + 2 < path->l ? hexval(path->p[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(path->p[i + 2]) : -1;

			if (lo < 0)
				return EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}

		if (c == '/') {
			if (!seg)
				return EINVAL; /* "//" */
			seg = 0;
		} else if (!name_char(c) || (c == '.' && !seg) ||
			   ++seg > SEGMENT_MAX) {
			return EINVAL;
		}

		if (n + 1 >= sizeof(buf))
			return ENAMETOOLONG;
		buf[n++] = c;
	}

	if (!n || buf[n - 1] == '/') {
		if (n + sizeof("index.html") > sizeof(buf))
			return ENAMETOOLONG;
		memcpy(buf + n, "index.html", sizeof("index.html"));
		n += sizeof("index.html") - 1;
	}
	buf[n] = '\0';

	if (n + 1 > sz)
		return ENAMETOOLONG;
	memcpy(rel, buf, n + 1);
	return 0;
}

/** The Content-Type of a file, by its extension */
const char *httpd_static_ctype(const char *rel)
{
	static const struct {
		const char *ext;
		const char *ctype;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".json", "application/json"},
		{".txt", "text/plain; charset=utf-8"},
		{".md", "text/plain; charset=utf-8"},
		{".png", "image/png"},
		{".svg", "image/svg+xml"},
		{".ico", "image/x-icon"},
		{".woff2", "font/woff2"},
	};
	const char *dot = rel ? strrchr(rel, '.') : NULL;

	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++) {
		if (0 == strcmp(dot, types[i].ext))
			return types[i].ctype;
	}

	return "application/octet-stream";
}

static void text_reply(struct http_conn *hc, uint16_t scode, const char *reason,
		       const char *extra, const char *text, const char *arg)
{
	(void)http_reply(hc, scode, reason,
			 "%s"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "\r\n"
			 "%s%s\n",
			 extra ? extra : "", str_len(text) + str_len(arg) + 1,
			 text, arg ? arg : "");
}

/* Opens root/rel one name at a time, following no link on the way (the
 * root itself may be one: etc/web is), so nothing in web-root leads out */
static int open_beneath(const char *root, const char *rel)
{
	char name[HTTPD_STATIC_PATH_MAX];
	int dfd;

	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;

	for (;;) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);
		int fd;

		memcpy(name, rel, n);
		name[n] = '\0';
		fd = openat(dfd, name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
				    (slash ? O_DIRECTORY : 0));
		(void)close(dfd);
		if (fd < 0 || !slash)
			return fd;
		dfd = fd;
		rel = slash + 1;
	}
}

/* Reads the whole file: a regular file of at most the cap, reached through
 * no link. ENOENT for anything that is not such a file. */
static int read_file(struct mbuf **mbp, const char *root, const char *rel)
{
	struct mbuf *mb = NULL;
	struct stat sb;
	int fd, err = 0;
	ssize_t n;

	fd = open_beneath(root, rel);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == ENOTDIR
			       ? ENOENT
			       : errno;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		err = ENOENT;
		goto out;
	}
	if (sb.st_size > HTTPD_STATIC_SIZE_MAX) {
		err = EFBIG;
		goto out;
	}

	mb = mbuf_alloc((size_t)sb.st_size + 1);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}

	/* read to the end, not to st_size: the file may change meanwhile */
	while ((n = read(fd, mb->buf + mb->end, mb->size - mb->end)) > 0) {
		mb->end += (size_t)n;
		if (mb->end > HTTPD_STATIC_SIZE_MAX) {
			err = EFBIG;
			goto out;
		}
		if (mb->end == mb->size && mbuf_resize(mb, mb->size * 2)) {
			err = ENOMEM;
			goto out;
		}
	}
	if (n < 0)
		err = errno;

out:
	(void)close(fd);
	if (err)
		mem_deref(mb);
	else
		*mbp = mb;
	return err;
}

/** Answers a request for a file of web-root (the HTTP port's default) */
void httpd_static_serve(struct httpd_static *st, struct http_conn *hc,
			const struct http_msg *msg)
{
	char rel[HTTPD_STATIC_PATH_MAX];
	struct mbuf *mb = NULL;
	bool head;
	int err;

	if (!st || !hc || !msg)
		return;

	head = 0 == pl_strcmp(&msg->met, "HEAD");
	if (!head && pl_strcmp(&msg->met, "GET"))
		return text_reply(hc, 405, "Method Not Allowed",
				  "Allow: GET, HEAD\r\n",
				  "only GET and HEAD are served here", NULL);

	err = httpd_static_path(rel, sizeof(rel), &msg->path);
	if (err) {
		log_debug("http", "%J: bad path %r refused", http_conn_peer(hc),
			  &msg->path);
		return text_reply(hc, 400, "Bad Request", NULL,
				  "not a path of this server: only letters, "
				  "digits, '.', '_', '-' and '/', no empty or "
				  "dot-led name",
				  NULL);
	}

	err = read_file(&mb, st->root, rel);
	if (err == ENOENT)
		return text_reply(hc, 404, "Not Found", NULL, "no file /", rel);
	if (err) {
		log_warn("http", "cannot serve %s/%s: %m", st->root, rel, err);
		return text_reply(hc, 500, "Internal Server Error", NULL,
				  "cannot read /", rel);
	}

	(void)http_reply(hc, 200, "OK",
			 HEADERS "Content-Type: %s\r\n"
				 "Content-Length: %zu\r\n"
				 "\r\n"
				 "%b",
			 httpd_static_ctype(rel), mb->end, mb->buf,
			 head ? (size_t)0 : mb->end);
	mem_deref(mb);
}
