/**
 * @file httpd.h  The HTTP port: WebSocket CTI today; status, metrics and
 * the web desktop later
 */

struct httpd;
struct cfg;
struct tsrv;

int httpd_alloc(struct httpd **hp, const struct cfg *cfg, struct tsrv *tsrv);
