/**
 * @file engine.c  The media engine's control-thread side
 *
 * Starts the worker threads, binds RTP/RTCP socket pairs from the
 * configured port range, pins each call's legs to one worker (round robin
 * over calls, so one call's mix never crosses threads; a consult call
 * beside its main call, so that legs can move between the two without
 * changing thread) and turns the workers' reports into loop events.
 * Everything here runs on the control thread except media_post, which
 * workers call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/player.h"
#include "media/media.h"
#include "media/priv.h"

/** A call pinned to a worker: which one, and by how many legs (0 only
 * between media_pin_with and the first leg) */
struct pin {
	struct le he;
	uint64_t connid;
	unsigned worker;
	uint32_t legs;
};

struct media {
	struct worker *workers;
	unsigned nworkers;
	unsigned next_worker;
	struct hash *pins;
	struct sa laddr;
	uint16_t port_min, port_max, port_next;
	uint32_t legs;

	pthread_mutex_t msg_lock; /**< guards msgl */
	struct list msgl;
	int msg_fd; /**< eventfd: wakes the control thread */

	media_timeout_h *timeouth;
	void *arg;

	/* late frames, watched from the control thread (late_watch) */
	struct tmr late_tmr;
	uint64_t *late_seen;   /**< per worker: late frames already told */
	uint64_t *late_warned; /**< per worker: [ms] the last warning */
};

struct media_leg {
	struct media *m;
	struct worker *w;
	struct wleg *wl;
	uint64_t connid;
	uint32_t id;
	uint16_t port;
};

uint64_t media_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Called by workers: queue a report, wake the loop if it was idle */
void media_post(struct media *m, enum msg_type type, uint32_t id, uint16_t port,
		struct player *music)
{
	struct msg *msg = calloc(1, sizeof(*msg));
	bool wake;
	uint64_t one = 1;

	if (!msg)
		return; /* a lost report: the port stays taken; logged nowhere */

	msg->type = type;
	msg->id = id;
	msg->port = port;
	msg->music = music;

	pthread_mutex_lock(&m->msg_lock);
	wake = !m->msgl.head;
	list_append(&m->msgl, &msg->le, msg);
	pthread_mutex_unlock(&m->msg_lock);

	if (wake)
		(void)!write(m->msg_fd, &one, sizeof(one));
}

static void msg_handle(struct media *m, struct msg *msg)
{
	switch (msg->type) {
	case MSG_CLOSED:
		--m->legs;
		break;
	case MSG_TIMEOUT:
		if (m->timeouth)
			m->timeouth(msg->id, m->arg);
		break;
	case MSG_UNREF:
		mem_deref(msg->music);
		break;
	}
}

static void msgs_drain(struct media *m)
{
	struct list msgl;
	struct le *le;

	/* move, not copy: each element knows the list it is in */
	list_init(&msgl);
	pthread_mutex_lock(&m->msg_lock);
	while ((le = m->msgl.head)) {
		list_unlink(le);
		list_append(&msgl, le, le->data);
	}
	pthread_mutex_unlock(&m->msg_lock);


	while ((le = msgl.head)) {
		struct msg *msg = le->data;

		list_unlink(le);
		msg_handle(m, msg);
		free(msg);
	}
}

static void msg_fd_h(int flags, void *arg)
{
	struct media *m = arg;
	uint64_t n;
	(void)flags;

	(void)!read(m->msg_fd, &n, sizeof(n));
	msgs_drain(m);
}

static void workers_stop(struct media *m)
{
	for (unsigned i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->lock);
		atomic_store(&w->stop, true);
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	for (unsigned i = 0; i < m->nworkers; i++)
		worker_free_all(&m->workers[i]);
}

static void media_destructor(void *arg)
{
	struct media *m = arg;

	tmr_cancel(&m->late_tmr);
	free(m->late_seen);
	free(m->late_warned);
	if (m->workers) {
		workers_stop(m);
		for (unsigned i = 0; i < m->nworkers; i++)
			if (m->workers[i].inited)
				worker_fini(&m->workers[i]);
		free(m->workers);
	}
	msgs_drain(m);
	hash_flush(m->pins);
	mem_deref(m->pins);
	if (m->msg_fd >= 0) {
		fd_close(m->msg_fd);
		close(m->msg_fd);
	}
	pthread_mutex_destroy(&m->msg_lock);
}

static int workers_start(struct media *m)
{
	for (unsigned i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];
		int err;

		w->m = m;
		w->idx = i;
		/* frames spread over the period: the workers do not all take
		 * the CPUs at the same moment, and the control thread (CTI,
		 * SIP) finds one free (bench/listen.py saw its requests wait
		 * behind two workers starting in the same millisecond) */
		w->phase = i * MEDIA_PTIME / m->nworkers;
		err = worker_init(w);
		if (err)
			return err;
		w->inited = true;
		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err)
			return err;
		w->started = true;
	}

	return 0;
}

enum {
	LATE_CHECK = 1000,  /* [ms] how often late frames are looked at */
	LATE_QUIET = 10000, /* [ms] at most one warning per worker in this */
};

/*
 * A worker whose frames start late is overloaded (more parties than it can
 * mix in 20 ms, or a starved CPU): the phones hear it as gaps. The worker
 * only counts (it must not block on a log line); the control thread looks
 * once a second and says so, at most once every LATE_QUIET per worker,
 * with how many frames were late meanwhile and how busy the worker was.
 */
static void late_watch(void *arg)
{
	struct media *m = arg;
	uint64_t now = media_now();

	for (unsigned i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];
		uint64_t late = atomic_load(&w->late);

		if (late == m->late_seen[i] ||
		    (m->late_warned[i] && now - m->late_warned[i] < LATE_QUIET))
			continue;

		log_warn("media",
			 "worker %u: %llu frame(s) late since the last "
			 "warning (%llu in all; busy %u%% of the last "
			 "second, %u legs): more parties than it can mix, or "
			 "its CPU is starved",
			 i, (unsigned long long)(late - m->late_seen[i]),
			 (unsigned long long)late,
			 (unsigned)(atomic_load(&w->load_ppm) / 10000),
			 atomic_load(&w->nlegs));
		m->late_seen[i] = late;
		m->late_warned[i] = now;
	}

	tmr_start(&m->late_tmr, LATE_CHECK, late_watch, m);
}

/**
 * Start the media engine: media-threads workers, RTP on sip-address
 *
 * @param timeouth Called on the control thread when a leg's RTP stopped
 */
int media_alloc(struct media **mp, const struct cfg *cfg,
		media_timeout_h *timeouth, void *arg)
{
	struct media *m;
	int err;

	if (!mp || !cfg)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), media_destructor);
	if (!m)
		return ENOMEM;

	pthread_mutex_init(&m->msg_lock, NULL);
	m->msg_fd = -1;
	m->laddr = cfg->sip_address;
	m->port_min = cfg->rtp_port_min + (cfg->rtp_port_min & 1);
	m->port_max = cfg->rtp_port_max;
	m->port_next = m->port_min;
	m->timeouth = timeouth;
	m->arg = arg;
	m->nworkers = cfg->media_threads;
	m->workers = calloc(m->nworkers, sizeof(*m->workers));
	m->late_seen = calloc(m->nworkers, sizeof(*m->late_seen));
	m->late_warned = calloc(m->nworkers, sizeof(*m->late_warned));

	err = m->workers && m->late_seen && m->late_warned
		      ? hash_alloc(&m->pins, 256)
		      : ENOMEM;
	if (!err) {
		m->msg_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		err = m->msg_fd < 0 ? errno : 0;
	}
	if (!err)
		err = fd_listen(m->msg_fd, FD_READ, msg_fd_h, m);
	if (!err)
		err = workers_start(m);
	if (err) {
		mem_deref(m);
		return err;
	}

	tmr_start(&m->late_tmr, LATE_CHECK, late_watch, m);
	log_info("media", "%u worker thread(s), RTP ports %u-%u on %j",
		 m->nworkers, m->port_min, m->port_max, &m->laddr);
	*mp = m;
	return 0;
}

void media_stats(const struct media *m, struct media_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!m)
		return;

	st->legs = m->legs;
	for (unsigned i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];

		st->mixes += atomic_load(&w->nmixes);
		st->ticks += atomic_load(&w->ticks);
		st->late += atomic_load(&w->late);
		st->rx += atomic_load(&w->rx);
		st->tx += atomic_load(&w->tx);
		st->rx_foreign += atomic_load(&w->rx_foreign);
		st->rx_bad += atomic_load(&w->rx_bad);
	}
}

unsigned media_workers(const struct media *m)
{
	return m ? m->nworkers : 0;
}

/**
 * One worker's counters and load, read without stopping it: each value
 * is exact, but they may be from slightly different moments
 *
 * @return 0, or EINVAL when there is no worker i
 */
int media_worker_stats(const struct media *m, unsigned i,
		       struct media_worker_stats *st)
{
	struct worker *w;

	if (!m || !st || i >= m->nworkers)
		return EINVAL;

	w = &m->workers[i];
	memset(st, 0, sizeof(*st));
	st->legs = atomic_load(&w->nlegs);
	st->mixes = atomic_load(&w->nmixes);
	st->music = atomic_load(&w->nmusic);
	st->frames = atomic_load(&w->ticks);
	st->late = atomic_load(&w->late);
	st->rx = atomic_load(&w->rx);
	st->tx = atomic_load(&w->tx);
	st->rx_lost = atomic_load(&w->rx_lost);
	st->rx_late = atomic_load(&w->rx_late);
	st->rx_foreign = atomic_load(&w->rx_foreign);
	st->rx_bad = atomic_load(&w->rx_bad);
	st->load = atomic_load(&w->load_ppm) / 1e6;
	st->frame_max = atomic_load(&w->frame_max_ns);
	st->busy = atomic_load(&w->busy_ns);
	for (unsigned b = 0; b <= MEDIA_FRAME_BUCKETS; b++)
		st->hist[b] = atomic_load(&w->frame_hist[b]);

	return 0;
}

static int udp_bind(const struct sa *laddr, uint16_t port)
{
	struct sa a = *laddr;
	int fd;

	sa_set_port(&a, port);
	fd = socket(sa_af(&a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, &a.u.sa, a.len) < 0) {
		close(fd);
		return -1;
	}

	return fd;
}

/* The next even port whose pair binds; RTCP on port + 1 */
static int ports_bind(struct media *m, struct wleg *l)
{
	uint32_t span = (uint32_t)(m->port_max - m->port_min + 1) / 2;

	for (uint32_t i = 0; i < span; i++) {
		uint16_t port = m->port_next;

		m->port_next += 2;
		if (m->port_next + 1 > m->port_max || m->port_next < port)
			m->port_next = m->port_min;

		l->fd = udp_bind(&m->laddr, port);
		if (l->fd < 0)
			continue;
		l->fd_rtcp = udp_bind(&m->laddr, port + 1);
		if (l->fd_rtcp < 0) {
			close(l->fd);
			continue;
		}
		l->port = port;
		return 0;
	}

	return ENOSPC;
}

static bool pin_cmp(struct le *le, void *arg)
{
	const struct pin *pin = le->data;

	return pin->connid == *(uint64_t *)arg;
}

static struct pin *pin_find(const struct media *m, uint64_t connid)
{
	struct le *le =
		hash_lookup(m->pins, (uint32_t)connid, pin_cmp, &connid);

	return le ? le->data : NULL;
}

static struct pin *pin_new(struct media *m, uint64_t connid, unsigned worker)
{
	struct pin *pin = mem_zalloc(sizeof(*pin), NULL);

	if (!pin)
		return NULL;

	pin->connid = connid;
	pin->worker = worker;
	hash_append(m->pins, (uint32_t)connid, &pin->he, pin);
	return pin;
}

static void pin_free(struct pin *pin)
{
	hash_unlink(&pin->he);
	mem_deref(pin);
}

/* Which worker holds this call's mix; a new call takes the next one */
static struct pin *pin_get(struct media *m, uint64_t connid)
{
	struct pin *pin = pin_find(m, connid);

	if (pin)
		return pin;

	return pin_new(m, connid, m->next_worker++ % m->nworkers);
}

/*
 * This call's pin, on the given worker: made there if the call has none,
 * EXDEV if it is on another. A leg never changes worker (see
 * media_leg_move), so a call whose legs come from one worker's calls must
 * be on that worker.
 */
static int pin_on(struct media *m, struct pin **pinp, uint64_t connid,
		  unsigned worker)
{
	struct pin *pin = pin_find(m, connid);

	if (pin) {
		if (pin->worker != worker)
			return EXDEV;
		*pinp = pin;
		return 0;
	}

	*pinp = pin_new(m, connid, worker);
	return *pinp ? 0 : ENOMEM;
}

/* A leg left the call: the pin goes with its last leg */
static void pin_put(struct media *m, uint64_t connid)
{
	struct pin *pin = pin_find(m, connid);

	if (!pin)
		return;

	if (pin->legs)
		--pin->legs;
	if (!pin->legs)
		pin_free(pin);
}

static struct cmd *cmd_new(enum cmd_type type, struct wleg *wl)
{
	struct cmd *cmd = calloc(1, sizeof(*cmd));

	if (cmd) {
		cmd->type = type;
		cmd->leg = wl;
	}
	return cmd;
}

static void wleg_free(struct wleg *wl)
{
	if (wl->fd >= 0)
		close(wl->fd);
	if (wl->fd_rtcp >= 0)
		close(wl->fd_rtcp);
	mem_deref(wl->jb);
	free(wl);
}

static void leg_destructor(void *arg)
{
	struct media_leg *l = arg;
	struct cmd *cmd;

	if (!l->wl)
		return;

	if (!l->w) {
		/* never joined a mix: still ours to close */
		wleg_free(l->wl);
		--l->m->legs;
		return;
	}

	cmd = cmd_new(CMD_REMOVE, l->wl);
	if (cmd)
		worker_push(l->w, cmd);
	/* without memory for the command the leg stays until shutdown */
	pin_put(l->m, l->connid);
}

static struct wleg *wleg_new(uint32_t rtp_timeout)
{
	struct wleg *wl = calloc(1, sizeof(*wl));

	if (!wl)
		return NULL;

	wl->fd = wl->fd_rtcp = -1;
	wl->timeout_ms = rtp_timeout * 1000;
	wl->ssrc = rand_u32();
	wl->seq = rand_u16();
	wl->ts = rand_u32();
	wl->marker = true;
	if (jb_alloc(&wl->jb, MEDIA_JB_DELAY)) {
		free(wl);
		return NULL;
	}

	return wl;
}

/**
 * Open a media leg: bind an RTP/RTCP port pair for the SDP
 *
 * @param rtp_timeout [s] release after this long without RTP; 0 = never
 *
 * @return 0, or ENOSPC when no port pair of the range is free
 */
int media_leg_alloc(struct media_leg **lp, struct media *m,
		    uint32_t rtp_timeout)
{
	struct media_leg *l;
	int err;

	if (!lp || !m)
		return EINVAL;

	l = mem_zalloc(sizeof(*l), leg_destructor);
	if (!l)
		return ENOMEM;

	l->m = m;
	l->wl = wleg_new(rtp_timeout);
	err = l->wl ? ports_bind(m, l->wl) : ENOMEM;
	if (err) {
		if (l->wl)
			wleg_free(l->wl);
		l->wl = NULL;
		mem_deref(l);
		return err;
	}

	l->port = l->wl->port;
	++m->legs;
	*lp = l;
	return 0;
}

/**
 * Put the leg in its call's mix; legs of one call are mixed together
 *
 * @param id Party id, reported back on RTP timeout
 */
int media_leg_join(struct media_leg *l, uint64_t connid, uint32_t id)
{
	struct cmd *cmd;
	struct pin *pin;

	if (!l || l->w)
		return EINVAL;

	/* the command first: a failure then leaves no pin behind, nor takes
	 * one that media_pin_with made */
	cmd = cmd_new(CMD_ADD, l->wl);
	pin = cmd ? pin_get(l->m, connid) : NULL;
	if (!pin) {
		free(cmd);
		return ENOMEM;
	}

	++pin->legs;
	l->w = &l->m->workers[pin->worker];
	l->connid = connid;
	l->id = id;
	l->wl->id = id;
	l->wl->connid = connid;
	worker_push(l->w, cmd);
	return 0;
}

/**
 * Move the leg to another call's mix, from the next frame boundary
 *
 * The leg keeps its socket, playout buffer, RTP SSRC, sequence and
 * timestamp, its talk/listen/source mode and its music: the phone sees
 * one unbroken stream whose audio changes call.
 *
 * Cross-thread hand-over of a leg is not supported: a worker's legs are
 * its own, unlocked, and a leg's commands are ordered only because they
 * all go to one worker's list. Handing a leg to another worker would take
 * a two-step hand-over through both lists while commands for it may still
 * be queued on the first. So the call moved to must be on the leg's
 * worker; media_pin_with puts a consult call there before its first leg.
 *
 * @return 0 (also when the leg is already in that call), EINVAL if the leg
 * never joined a call, EXDEV if the call is pinned to another worker
 * (nothing changed), ENOMEM
 */
int media_leg_move(struct media_leg *l, uint64_t connid)
{
	struct pin *pin;
	struct cmd *cmd;
	int err;

	if (!l || !l->w)
		return EINVAL;
	if (connid == l->connid)
		return 0;

	/* the command first, as in media_leg_join */
	cmd = cmd_new(CMD_MOVE, l->wl);
	if (!cmd)
		return ENOMEM;

	err = pin_on(l->m, &pin, connid, (unsigned)(l->w - l->m->workers));
	if (err) {
		free(cmd);
		return err;
	}

	/* the worker sets wl->connid itself: the wleg is no longer ours */
	cmd->connid = connid;
	++pin->legs;
	pin_put(l->m, l->connid);
	l->connid = connid;
	worker_push(l->w, cmd);
	return 0;
}

/**
 * Pin a call, before any leg joins it, to the worker of another call, so
 * that legs can move between the two (a consult call beside its main
 * call; see media_leg_move)
 *
 * @return 0 (also if already pinned there), ENOENT if near_connid has no
 * pin, EXDEV if connid is pinned to another worker, ENOMEM
 */
int media_pin_with(struct media *m, uint64_t connid, uint64_t near_connid)
{
	const struct pin *near;
	struct pin *pin;

	if (!m)
		return EINVAL;

	near = pin_find(m, near_connid);
	if (!near)
		return ENOENT;

	return pin_on(m, &pin, connid, near->worker);
}

/**
 * Forget the pin of a call that no leg joined (its dialling failed, it
 * ended before anyone answered); a pin with legs is left alone, and goes
 * with its last leg anyway
 */
void media_pin_drop(struct media *m, uint64_t connid)
{
	struct pin *pin = m ? pin_find(m, connid) : NULL;

	if (pin && !pin->legs)
		pin_free(pin);
}

uint16_t media_leg_port(const struct media_leg *l)
{
	return l ? l->port : 0;
}

const struct sa *media_leg_laddr(const struct media_leg *l)
{
	return l ? &l->m->laddr : NULL;
}

/** The phone's SDP said where and how to send; applied at the next frame */
void media_leg_remote(struct media_leg *l, const struct media_remote *r)
{
	struct cmd *cmd;

	if (!l || !r)
		return;

	cmd = cmd_new(CMD_REMOTE, l->wl);
	if (!cmd)
		return;

	cmd->remote = *r;
	worker_push(l->w, cmd);
}

/** What the party hears and whether it is heard, from the next frame */
void media_leg_mode(struct media_leg *l, bool talk, bool listen,
		    enum media_source src, struct player *music)
{
	struct cmd *cmd;

	if (!l)
		return;

	cmd = cmd_new(CMD_MODE, l->wl);
	if (!cmd)
		return;

	cmd->talk = talk;
	cmd->listen = listen;
	cmd->src = src;
	cmd->music = mem_ref(music);
	worker_push(l->w, cmd);
}
