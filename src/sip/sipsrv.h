/**
 * @file sipsrv.h  The SIP shell: transports and the first look at requests
 */

struct sipsrv;
struct cfg;
struct reg;

int sipsrv_alloc(struct sipsrv **srvp, const struct cfg *conf);
struct sip *sipsrv_sip(const struct sipsrv *srv);
int sipsrv_listen(struct sipsrv *srv);
void sipsrv_reg_set(struct sipsrv *srv, struct reg *reg);
