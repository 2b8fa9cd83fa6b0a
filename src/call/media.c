/**
 * @file media.c  Who hears whom: the media contract of call-model.md
 *
 * After every change of a call the model works out, for each party, what
 * it hears and whether it is heard, and tells the media engine only what
 * changed. The rules live here and only here:
 * - Established: in the mix and hearing it (never its own voice);
 * - Held: neither heard nor hearing the call, music instead;
 * - a party left with nobody to hear because the others are held hears
 *   the music of the one who held (the caller on hold hears music);
 * - music is silence for a party whose trunk has sip-enable-moh = false;
 * - before answer nothing is sent, unless the callee sends early media,
 *   which the caller then hears;
 * - a leg shared in a consultation is driven by the consult party alone.
 */
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"

static bool is_talker(const struct party *p)
{
	if (p->state == PARTY_ESTABLISHED)
		return true;

	return p->call->early_media && p->state == PARTY_RINGING;
}

/* The music of a held party, for one who has nobody left to hear */
static const struct party *held_other(const struct party *p)
{
	const struct party *held = NULL;

	for (struct le *le = p->call->partyl.head; le; le = le->next) {
		const struct party *q = le->data;

		if (q == p)
			continue;
		if (is_talker(q))
			return NULL;
		if (q->state == PARTY_HELD && !held)
			held = q;
	}

	return held;
}

static void music(struct call_media_cmd *cmd, const struct party *p,
		  const char *file)
{
	cmd->talk = false;
	cmd->listen = false;
	cmd->source = p->moh && file ? CALL_SRC_MUSIC : CALL_SRC_SILENCE;
	cmd->music = cmd->source == CALL_SRC_MUSIC ? file : NULL;
}

static void compute(struct call_media_cmd *cmd, const struct party *p)
{
	const struct party *held;

	memset(cmd, 0, sizeof(*cmd));
	cmd->party = p->leg;
	cmd->connid = p->call->connid;

	switch (p->state) {
	case PARTY_ESTABLISHED:
		held = held_other(p);
		if (held) {
			music(cmd, p, held->music);
			break;
		}
		cmd->talk = true;
		cmd->listen = true;
		cmd->source = CALL_SRC_MIX;
		break;
	case PARTY_HELD:
	case PARTY_LISTEN_DISCONNECTED:
		music(cmd, p, p->music);
		break;
	case PARTY_DIALING:
		if (p->call->early_media) {
			cmd->listen = true;
			cmd->source = CALL_SRC_MIX;
		}
		break;
	case PARTY_RINGING:
		cmd->talk = p->call->early_media;
		break;
	default:
		break;
	}
}

static bool same(const struct call_media_cmd *a, const struct call_media_cmd *b)
{
	return a->talk == b->talk && a->listen == b->listen &&
	       a->source == b->source && a->connid == b->connid &&
	       !strcmp(a->music ? a->music : "", b->music ? b->music : "");
}

/** Tell the media engine what changed for any party of the call */
void call_media_update(struct call *call)
{
	struct call_model *m = call->m;

	for (struct le *le = call->partyl.head; le; le = le->next) {
		struct party *p = le->data;
		struct call_media_cmd cmd;

		/* a consult party rides this one's leg and speaks for it */
		if (p->state == PARTY_RELEASED || p->rider)
			continue;

		compute(&cmd, p);
		if (p->media_sent && same(&cmd, &p->sent))
			continue;

		p->sent = cmd;
		p->media_sent = true;
		m->env.media(&cmd, m->env.arg);
	}
}

/** The party has left: its media goes */
void call_media_remove(struct party *p)
{
	struct call_media_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.party = p->leg;
	cmd.connid = p->call->connid;
	cmd.remove = true;
	p->m->env.media(&cmd, p->m->env.arg);
}
