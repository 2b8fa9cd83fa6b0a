/**
 * @file worker.c  A media worker thread: one 20 ms frame after another
 *
 * Each frame: apply the commands that arrived (this is the frame boundary
 * where every change takes effect), read what each leg received, mix each
 * call once, send each leg what it hears, then check for silent phones.
 * One exception: a change of what a leg hears is applied as soon as it
 * arrives, and a leg switched to music or silence gets its next packet at
 * once (see modes_apply): a party taken out of a conversation stops
 * hearing it within a millisecond, not at its next packet 0-20 ms later.
 * The thread sleeps to absolute frame times, so a slow frame is caught up
 * rather than shifting every later one; a frame that starts more than half
 * a frame late is counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "log/log.h"
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/player.h"
#include "media/media.h"
#include "media/priv.h"

/** The queue, its lock and the sleeping worker's wake-up, which waits on
 * the monotonic clock like the frames do */
int worker_init(struct worker *w)
{
	pthread_condattr_t attr;
	int err;

	list_init(&w->cmdl);
	err = pthread_condattr_init(&attr);
	if (err)
		return err;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (err)
		return err;

	err = pthread_mutex_init(&w->lock, NULL);
	if (err)
		pthread_cond_destroy(&w->wake);
	return err;
}

void worker_fini(struct worker *w)
{
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
}

void worker_push(struct worker *w, struct cmd *cmd)
{
	pthread_mutex_lock(&w->lock);
	list_append(&w->cmdl, &cmd->le, cmd);
	atomic_fetch_add(&w->pending, 1); /* counted with the list it counts */
	if (cmd->type == CMD_MODE) {
		atomic_fetch_add(&w->pending_modes, 1);
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
}

static struct wmix *mix_get(struct worker *w, uint64_t connid)
{
	struct wmix *mx;

	for (struct le *le = w->mixl.head; le; le = le->next) {
		mx = le->data;
		if (mx->connid == connid)
			return mx;
	}

	mx = calloc(1, sizeof(*mx));
	if (!mx)
		return NULL;

	mx->connid = connid;
	mix_init(&mx->mix);
	list_append(&w->mixl, &mx->le, mx);
	atomic_fetch_add(&w->nmixes, 1);
	return mx;
}

/* Into the mix of the leg's call; a new call's mix is the only
 * allocation of the frame path */
static void mix_enter(struct worker *w, struct wleg *l)
{
	l->mix = mix_get(w, l->connid);
	if (!l->mix)
		return; /* no memory: silent, but still freed in the end */

	mix_add(&l->mix->mix, &l->mp);
	++l->mix->nlegs;
	atomic_fetch_add(&w->nlegs, 1);
}

/* Out of its mix, which goes with its last leg */
static void mix_leave(struct worker *w, struct wleg *l)
{
	if (!l->mix)
		return;

	mix_remove(&l->mp);
	if (--l->mix->nlegs == 0) {
		list_unlink(&l->mix->le);
		free(l->mix);
		atomic_fetch_sub(&w->nmixes, 1);
	}
	l->mix = NULL;
	atomic_fetch_sub(&w->nlegs, 1);

	/* a leg left in no mix must not replay the last frame of this one */
	memset(l->mp.out, 0, sizeof(l->mp.out));
}

static void leg_add(struct worker *w, struct wleg *l)
{
	mix_enter(w, l);
	list_append(&w->legl, &l->le, l);
}

/* How many legs hear music: adjusted where a leg's source changes */
static void music_count(struct worker *w, enum media_source from,
			enum media_source to)
{
	if (from == to)
		return;
	if (to == MEDIA_SRC_MUSIC)
		atomic_fetch_add(&w->nmusic, 1);
	else if (from == MEDIA_SRC_MUSIC)
		atomic_fetch_sub(&w->nmusic, 1);
}

static void leg_free(struct worker *w, struct wleg *l)
{
	list_unlink(&l->le);
	mix_leave(w, l);
	music_count(w, l->src, MEDIA_SRC_NONE);
	if (l->fd >= 0)
		close(l->fd);
	if (l->fd_rtcp >= 0)
		close(l->fd_rtcp);
	if (l->music)
		media_post(w->m, MSG_UNREF, l->id, 0, l->music);
	media_post(w->m, MSG_CLOSED, l->id, l->port, NULL);
	mem_deref(l->jb);
	free(l);
}

/*
 * To another call's mix. Everything the phone sees stays: socket, SSRC,
 * sequence, timestamp, mode and music position. So does the playout
 * buffer, because the phone's stream did not change; resetting it would
 * cost 60 ms of pre-roll for nothing. Only the telephone-event mapping
 * goes: it belonged to an event of the call being left.
 */
static void leg_move(struct worker *w, struct wleg *l, uint64_t connid)
{
	if (l->mix && l->connid == connid)
		return;

	mix_leave(w, l);
	l->connid = connid;
	l->ev_mapped = false;
	mix_enter(w, l);
}

static void leg_mode(struct worker *w, struct wleg *l, struct cmd *cmd)
{
	/* out was last made when the leg last listened to the sum, maybe long
	 * ago: a leg put back to the sum between this frame's mix_run and its
	 * packet must not replay it (a reconnected party would hear 20 ms of
	 * the conversation from before its disconnection) */
	if (!(l->mp.listen && l->mp.source == MIX_SRC_MIX))
		memset(l->mp.out, 0, sizeof(l->mp.out));

	l->mp.talk = cmd->talk;
	l->mp.listen = cmd->listen;
	music_count(w, l->src, cmd->src);
	l->src = cmd->src;
	l->mp.source = cmd->src == MEDIA_SRC_MIX     ? MIX_SRC_MIX
		       : cmd->src == MEDIA_SRC_MUSIC ? MIX_SRC_MUSIC
						     : MIX_SRC_SILENCE;
	if (l->music != cmd->music) {
		if (l->music)
			media_post(w->m, MSG_UNREF, l->id, 0, l->music);
		l->music = cmd->music;
		l->music_pos = 0;
	} else if (cmd->music) {
		media_post(w->m, MSG_UNREF, l->id, 0, cmd->music);
	}
}

static void leg_remote(struct wleg *l, const struct media_remote *r,
		       uint64_t now)
{
	l->remote = *r;
	l->has_remote = true;
	l->last_rx = now; /* the timeout counts from here */
	rtp_learn_start(l, now);
}

static void cmd_apply(struct worker *w, struct cmd *cmd, uint64_t now)
{
	switch (cmd->type) {
	case CMD_ADD:
		leg_add(w, cmd->leg);
		break;
	case CMD_REMOTE:
		leg_remote(cmd->leg, &cmd->remote, now);
		break;
	case CMD_MODE:
		leg_mode(w, cmd->leg, cmd);
		break;
	case CMD_REMOVE:
		leg_free(w, cmd->leg);
		break;
	case CMD_MOVE:
		leg_move(w, cmd->leg, cmd->connid);
		break;
	}
}

static void cmds_apply(struct worker *w, uint64_t now)
{
	struct list cmdl;
	struct le *le;

	if (!atomic_load(&w->pending))
		return;

	/* move, not copy: each element knows the list it is in */
	list_init(&cmdl);
	pthread_mutex_lock(&w->lock);
	while ((le = w->cmdl.head)) {
		list_unlink(le);
		list_append(&cmdl, le, le->data);
	}
	atomic_store(&w->pending, 0);
	atomic_store(&w->pending_modes, 0);
	pthread_mutex_unlock(&w->lock);


	while ((le = cmdl.head)) {
		struct cmd *cmd = le->data;

		list_unlink(le);
		cmd_apply(w, cmd, now);
		free(cmd);
	}
}

/*
 * Music and silence do not come from this frame's sum, so a leg that has
 * had its packet of this frame and is switched to them gets the next one
 * now, up to 20 ms early (its timestamp is the next packet's: the phone's
 * jitter buffer only sees a packet arrive early), and none at its place in
 * the next frame. A switch back to the call waits for the next frame's
 * sum.
 */
static void send_ahead(struct worker *w, struct wleg *l)
{
	if (l->ahead || l->sent_frame != w->frame || !l->has_remote)
		return;
	if (l->src != MEDIA_SRC_MUSIC && l->src != MEDIA_SRC_SILENCE)
		return;

	rtp_leg_send(w, l);
	l->ahead = true;
}

/*
 * What a leg hears may change between two of its packets: a mode command
 * is applied as soon as the worker sees it, between frames (it wakes the
 * sleeping worker) or in the send loop before the next leg's packet, so
 * music replaces the call (and the call the music) at the leg's very next
 * packet, which for music is sent at once (send_ahead). Only mode
 * commands: they touch the leg's own fields, and the sum of this frame is
 * already made (who is heard changes next frame). Adds, moves and
 * removals wait for the frame boundary, where the lists they change are
 * not being walked.
 */
static void modes_apply(struct worker *w)
{
	struct list model;
	struct le *le, *next;

	list_init(&model);
	pthread_mutex_lock(&w->lock);
	for (le = w->cmdl.head; le; le = next) {
		struct cmd *cmd = le->data;

		next = le->next;
		if (cmd->type != CMD_MODE)
			continue;
		list_unlink(le);
		list_append(&model, le, cmd);
		atomic_fetch_sub(&w->pending, 1);
		atomic_fetch_sub(&w->pending_modes, 1);
	}
	pthread_mutex_unlock(&w->lock);

	while ((le = model.head)) {
		struct cmd *cmd = le->data;

		list_unlink(le);
		leg_mode(w, cmd->leg, cmd);
		send_ahead(w, cmd->leg);
		free(cmd);
	}
}

/** Between frames: apply the mode commands that woke the worker (exported
 * for the unit test, which has no thread) */
void worker_idle(struct worker *w)
{
	if (atomic_load(&w->pending_modes))
		modes_apply(w);
}

/* A phone that sends RTP but went quiet for rtp-timeout is gone */
static void timeout_check(struct worker *w, struct wleg *l, uint64_t now)
{
	if (!l->timeout_ms || l->timed_out || !l->has_remote || !l->remote.recv)
		return;

	if (now - l->last_rx < l->timeout_ms)
		return;

	l->timed_out = true;
	media_post(w->m, MSG_TIMEOUT, l->id, l->port, NULL);
}

/** One frame; the thread's loop body, exported so that a unit test can
 * run frames without the thread or its clock */
void worker_frame(struct worker *w, uint64_t now)
{
	/* RTCP is only drained, once a second: a syscall per leg per frame
	 * saved (its socket buffer holds far more than a second of it) */
	bool rtcp_tick = atomic_load(&w->ticks) % RTCP_DRAIN_FRAMES == 0;
	struct le *le;

	++w->frame;
	cmds_apply(w, now);

	for (le = w->legl.head; le; le = le->next)
		rtp_leg_recv(w, le->data, now);

	for (le = w->mixl.head; le; le = le->next) {
		struct wmix *mx = le->data;

		mix_run(&mx->mix);
	}

	for (le = w->legl.head; le; le = le->next) {
		struct wleg *l = le->data;

		/* only mode commands: an add or a removal queued meanwhile
		 * must not send every later leg of the frame to the lock */
		if (atomic_load_explicit(&w->pending_modes,
					 memory_order_relaxed))
			modes_apply(w);
		l->sent_frame = w->frame;
		if (l->ahead)
			l->ahead = false; /* its packet went in send_ahead */
		else
			rtp_leg_send(w, l);
		if (rtcp_tick)
			rtp_leg_drain_rtcp(l);
		timeout_check(w, l, now);
	}

	atomic_fetch_add(&w->ticks, 1);
}

/* Till the frame time ms, or till a mode command arrives (true) */
static bool wait_until(struct worker *w, uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};
	bool woken;

	pthread_mutex_lock(&w->lock);
	while (!atomic_load(&w->pending_modes) && !atomic_load(&w->stop)) {
		if (pthread_cond_timedwait(&w->wake, &w->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	woken = atomic_load(&w->pending_modes) != 0;
	pthread_mutex_unlock(&w->lock);

	return woken && media_now() < ms;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	/* top, ps -L and /proc/PID/task/TID/comm tell the workers apart */
	(void)snprintf(name, sizeof(name), "media-%u", w->idx);
	(void)pthread_setname_np(pthread_self(), name);

	w->next = media_now() + MEDIA_PTIME + w->phase;

	while (!atomic_load(&w->stop)) {
		uint64_t now, t0;

		if (wait_until(w, w->next)) {
			worker_idle(w);
			continue;
		}
		now = media_now();

		if (now > w->next + MEDIA_PTIME / 2)
			atomic_fetch_add(&w->late, 1);
		/* far behind (suspended, overloaded): start afresh */
		if (now > w->next + 10 * MEDIA_PTIME)
			w->next = now;

		t0 = media_now_ns();
		worker_frame(w, now);
		worker_load(w, t0, media_now_ns());
		w->next += MEDIA_PTIME;
	}

	return NULL;
}

/** After the thread ended: apply what is queued, free every leg */
void worker_free_all(struct worker *w)
{
	struct le *le;

	cmds_apply(w, media_now());
	while ((le = w->legl.head))
		leg_free(w, le->data);
}
