/**
 * @file ops.h  The operator's pages on the HTTP port: /status (JSON) and
 * /metrics (Prometheus text)
 *
 * The pages are made from one sample of the whole server (sample.h),
 * taken on the control thread when a page is asked for; the app, which
 * holds the modules, says how to take it (httpd_ops_set).
 */

struct http_conn;
struct http_msg;
struct cfg;
struct httpd_sample;

/** Where the pages' data comes from (the app, which holds the modules) */
struct httpd_ops {
	/** the running configuration (who may read the pages) */
	const struct cfg *(*cfg)(void *arg);
	/** fill a zeroed sample */
	void (*sample)(struct httpd_sample *s, void *arg);
	void *arg;
};

/* ops.c: which page, who may read it, the reply */
void httpd_ops_set(const struct httpd_ops *ops);
bool httpd_ops_serve(struct http_conn *hc, const struct http_msg *msg);
