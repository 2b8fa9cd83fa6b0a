/**
 * @file sipsrv.h  The SIP shell: transports and the first look at requests
 */

struct sipsrv;
struct cfg;
struct reg;

struct sip;
struct sa;
struct sip_msg;

int sipsrv_alloc(struct sipsrv **srvp, const struct cfg *conf);
void sipsrv_refuse(struct sip *sip, const struct sip_msg *msg,
		   const char *module, uint16_t scode, const char *reason,
		   const char *hdrs, const char *fmt, ...);
struct sip *sipsrv_sip(const struct sipsrv *srv);
int sipsrv_listen(struct sipsrv *srv);
int sipsrv_udp_rcvbuf(const struct sa *laddr);
int sipsrv_tcp_backlog(const struct sa *laddr);
void sipsrv_reg_set(struct sipsrv *srv, struct reg *reg);
const char *sipsrv_bad_request(const struct sip_msg *msg, char *buf, size_t sz);
