/**
 * @file test_static.c  The web desktop's path check (src/http/static.c):
 * what a request path may name under web-root, and every way out of it
 * (`..`, its escaped forms, absolute and empty segments, odd characters)
 * refused before the file system is touched
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "http/static.h"

static int path(char *rel, size_t sz, const char *p)
{
	struct pl pl;

	pl_set_str(&pl, p);
	return httpd_static_path(rel, sz, &pl);
}

static void test_good(void **state)
{
	static const char *const cases[][2] = {
		{"/", "index.html"},
		{"/app.js", "app.js"},
		{"/img/desktop.png", "img/desktop.png"},
		{"/sub/", "sub/index.html"},
		{"/a%2Db.css", "a-b.css"},
		{"/x%2fy.js", "x/y.js"},
		{"/v1.2_x-y", "v1.2_x-y"},
	};
	char rel[HTTPD_STATIC_PATH_MAX];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(rel, 'x', sizeof(rel));
		assert_int_equal(0, path(rel, sizeof(rel), cases[i][0]));
		assert_string_equal(cases[i][1], rel);
	}
}

static void test_refused(void **state)
{
	static const char *const cases[] = {
		"",
		"index.html",
		"http://example.com/etc/passwd",
		"*",
		"/..",
		"/../etc/passwd",
		"/a/../../etc/passwd",
		"/%2e%2e/etc/passwd",
		"/%2E%2E%2Fetc%2Fpasswd",
		"/%2e./x",
		"/.%2e/x",
		"/a/%2e%2e/%2e%2e/x",
		"/%252e%252e/x", /* double escape: "%" is not a name char */
		"//etc/passwd",
		"/a//b",
		"/%2f/etc/passwd",
		"/.git/config",
		"/.",
		"/a/./b",
		"/a\\..\\b",
		"/a%5c..%5cb",
		"/a%00.html",
		"/%",
		"/%4",
		"/%zz",
		"/a b",
		"/caf\xc3\xa9.js",
		"/a:b",
		"/~root",
	};
	char rel[HTTPD_STATIC_PATH_MAX] = "untouched";
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = path(rel, sizeof(rel), cases[i]);

		if (err != EINVAL)
			fail_msg("\"%s\": %d, expected EINVAL", cases[i], err);
		assert_string_equal("untouched", rel);
	}
}

static void test_long(void **state)
{
	char p[2 * HTTPD_STATIC_PATH_MAX], rel[HTTPD_STATIC_PATH_MAX];
	size_t n = 0;
	(void)state;

	/* one name longer than a folder or file name may be */
	p[n++] = '/';
	for (int i = 0; i < 65; i++)
		p[n++] = 'a';
	p[n] = '\0';
	assert_int_equal(EINVAL, path(rel, sizeof(rel), p));

	/* many short names: longer than the buffer */
	n = 0;
	while (n + 3 < sizeof(p)) {
		p[n++] = '/';
		p[n++] = 'a';
	}
	p[n] = '\0';
	assert_int_equal(ENAMETOOLONG, path(rel, sizeof(rel), p));

	/* fits the server's buffer, not the caller's */
	assert_int_equal(ENAMETOOLONG, path(rel, 5, "/index.html"));
	assert_int_equal(EINVAL, httpd_static_path(NULL, 5, NULL));
}

static void test_ctype(void **state)
{
	(void)state;

	assert_string_equal("text/html; charset=utf-8",
			    httpd_static_ctype("index.html"));
	assert_string_equal("text/javascript; charset=utf-8",
			    httpd_static_ctype("app.js"));
	assert_string_equal("text/css; charset=utf-8",
			    httpd_static_ctype("a/style.css"));
	assert_string_equal("image/png", httpd_static_ctype("img/x.png"));
	assert_string_equal("application/octet-stream",
			    httpd_static_ctype("README"));
	assert_string_equal("application/octet-stream",
			    httpd_static_ctype("x.html.bak"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_ctype),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
