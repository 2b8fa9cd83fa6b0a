/**
 * @file cti.c  The generator's CTI client: each call of gen becomes a
 *              conference of 4 through sipserver's tlib/1 interface
 *
 * One TCP connection, from a fixed local port (LG_CTI_PORT), through the
 * project's client library (libtlib): TOpenServer, TRegisterAddress gen,
 * then, for every ConnID of an EventEstablished for gen, a
 * TSingleStepConference to 2001 and, once its EventPartyAdded has come, to
 * 2002. The conference counts as built at the second EventPartyAdded
 * (pg->confs). An EventError, an EventReleased of gen or a lost
 * connection is fatal. libtlib's socket is watched by libre's loop.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
/* not re.h: its re_json.h clashes with jansson's names (tlib.h) */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_main.h>
#include <tlib.h>
#include "lg.h"

enum {
	CTI_TIMEOUT_MS = 5000,
};

struct lg_cti {
	struct tlib *c;
	struct lg_progress *pg;
	struct list pending; /**< struct conf: parties being added */
	struct list built;   /**< struct conf: 4 parties */
	int fd;		     /**< watched by libre, -1: not */
};

struct conf {
	struct le le;
	char connid[17];
	int ref;	/**< ReferenceID of the request under way */
	unsigned added; /**< parties added: 2001, 2002 */
};

static void conf_destructor(void *arg)
{
	struct conf *cf = arg;

	list_unlink(&cf->le);
}

static bool connid_cmp(struct le *le, void *arg)
{
	const struct conf *cf = le->data;

	return !strcmp(cf->connid, arg);
}

static bool ref_cmp(struct le *le, void *arg)
{
	const struct conf *cf = le->data;

	return cf->ref == *(int *)arg;
}

/* Add the next callee (2001, then 2002) to the conference */
static void conf_add(struct lg_cti *cti, struct conf *cf)
{
	const char *other = lg_dn[2 + cf->added];

	cf->ref = tlib_single_step_conference(cti->c, lg_dn[0], cf->connid,
					      other);
	if (cf->ref < 0)
		lg_fail(cti->pg, "TSingleStepConference %s to %s: %m",
			cf->connid, other, -cf->ref);
}

/* gen's call is up: make it a conference */
static void conf_begin(struct lg_cti *cti, const char *connid)
{
	struct conf *cf;

	if (list_apply(&cti->pending, true, connid_cmp, (void *)connid) ||
	    list_apply(&cti->built, true, connid_cmp, (void *)connid))
		return; /* known already */

	cf = mem_zalloc(sizeof(*cf), conf_destructor);
	if (!cf) {
		lg_fail(cti->pg, "out of memory");
		return;
	}

	str_ncpy(cf->connid, connid, sizeof(cf->connid));
	list_append(&cti->pending, &cf->le, cf);
	conf_add(cti, cf);
}

/* A party joined: the next one, or the conference is built */
static void conf_next(struct lg_cti *cti, int ref)
{
	struct le *le = list_apply(&cti->pending, true, ref_cmp, &ref);
	struct conf *cf = le ? le->data : NULL;

	if (!cf)
		return;

	if (++cf->added < LG_CONF_SIZE - 2) {
		conf_add(cti, cf);
		return;
	}

	list_unlink(&cf->le);
	list_append(&cti->built, &cf->le, cf);
	atomic_fetch_add(&cti->pg->confs, 1);
}

static bool is_gen(const struct tlib_event *ev)
{
	return ev->this_dn && !strcmp(ev->this_dn, lg_dn[0]);
}

static void event_h(const struct tlib_event *ev, void *arg)
{
	struct lg_cti *cti = arg;

	if (!strcmp(ev->name, "EventError")) {
		lg_fail(cti->pg, "EventError %d (ReferenceID %lld): %s",
			ev->error_code, ev->reference_id,
			ev->error_message ? ev->error_message : "");
	} else if (!strcmp(ev->name, "EventEstablished") && is_gen(ev) &&
		   ev->conn_id && !ev->reference_id) {
		conf_begin(cti, ev->conn_id);
	} else if (!strcmp(ev->name, "EventPartyAdded") && ev->reference_id) {
		conf_next(cti, (int)ev->reference_id);
	} else if (!strcmp(ev->name, "EventReleased") && is_gen(ev)) {
		lg_fail(cti->pg, "call %s of gen released",
			ev->conn_id ? ev->conn_id : "?");
	}
}

static void read_h(int flags, void *arg)
{
	struct lg_cti *cti = arg;
	int n;
	(void)flags;

	do {
		n = tlib_poll(cti->c, 0);
	} while (n >= 0 && tlib_pending(cti->c));

	if (n == -ECONNRESET) {
		lg_fail(cti->pg, "the CTI connection was closed");
		fd_close(cti->fd);
		cti->fd = -1;
	} else if (n < 0) {
		lg_fail(cti->pg, "CTI: %m", -n);
	}
}

/* A TCP connection to the server's tlib-port from our fixed port */
static int tcp_open(int *fdp)
{
	struct sockaddr_in local = {.sin_family = AF_INET,
				    .sin_port = htons(LG_CTI_PORT),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in srv = local;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int on = 1;

	if (fd < 0)
		return errno;

	srv.sin_port = htons(LG_SRV_TLIB);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&local, sizeof(local)) ||
	    connect(fd, (struct sockaddr *)&srv, sizeof(srv))) {
		int err = errno;

		(void)close(fd);
		return err;
	}

	*fdp = fd;
	return 0;
}

static void cti_destructor(void *arg)
{
	struct lg_cti *cti = arg;

	if (cti->fd >= 0)
		fd_close(cti->fd);
	tlib_close(cti->c);
	list_flush(&cti->pending);
	list_flush(&cti->built);
}

/* TOpenServer, TRegisterAddress gen: blocking, before the loop runs */
static int session_open(struct lg_cti *cti)
{
	int fd = -1, err, ref;

	err = tcp_open(&fd);
	err = err ? err : tlib_connect_fd(&cti->c, fd, CTI_TIMEOUT_MS);
	err = err ? err : tlib_open(cti->c, "loadgen", NULL);
	if (err)
		return err;

	ref = tlib_register(cti->c, lg_dn[0], TLIB_MODE_SHARE);
	if (ref < 0)
		return -ref;

	return tlib_wait(cti->c, "EventRegistered ThisDN=gen", CTI_TIMEOUT_MS,
			 NULL);
}

/**
 * Connect to sipserver's CTI port, register gen, and watch for its calls
 * on libre's loop
 */
int lg_cti_alloc(struct lg_cti **ctip, struct lg_progress *pg)
{
	struct lg_cti *cti = mem_zalloc(sizeof(*cti), cti_destructor);
	int err;

	if (!cti)
		return ENOMEM;

	cti->pg = pg;
	cti->fd = -1;
	list_init(&cti->pending);
	list_init(&cti->built);
	err = session_open(cti);
	if (!err) {
		tlib_set_event_handler(cti->c, event_h, cti);
		err = fd_listen(tlib_fd(cti->c), FD_READ, read_h, cti);
	}
	if (!err)
		cti->fd = tlib_fd(cti->c);

	if (err)
		mem_deref(cti);
	else
		*ctip = cti;
	return err;
}
