/**
 * @file tmr.c  libre's tmr_start, with an insertion that scales
 *
 * Why this exists: libre keeps each thread's timers in one sorted linked
 * list, and its tmr_start() looks for the insertion point by walking back
 * from the tail (from the head for a zero delay). Over UDP every finished
 * SIP transaction keeps a 32 s timer (Timers J and M of RFC 3261/6026),
 * so at 500 call setups per second the list holds some 30,000 of them at
 * the tail, and every 500 ms retransmission timer (A, E, G) walks past
 * all of them: about 40 % of the process went there, and setups stalled
 * below 500/s. The latest libre still does the same.
 *
 * So this file defines tmr_start() itself. libre calls tmr_start through
 * its PLT (tmr_cancel and every module of libre do), so the dynamic
 * linker binds those calls to the executable's definition, the classic
 * ELF interposition. The list, its order and every other tmr_ function
 * stay libre's; only the search changes: it starts from whichever end of
 * the list is nearer in time, which for a short timer is the head. The
 * resulting position is exactly libre's (after every timer due at or
 * before it, before every timer due later), so the order of expiry,
 * including ties, is unchanged. unit.tmr checks both the order and that
 * libre's own calls come here.
 */
#include <re.h>
#include "app/app.h"

extern struct list *tmrl_get(void);

_Thread_local uint64_t app_tmr_starts;

/* The last timer due at or before jfs, or NULL: insert after it. */
static struct le *due_before(const struct list *l, uint64_t jfs)
{
	const struct tmr *head = list_ledata(l->head);
	const struct tmr *tail = list_ledata(l->tail);
	struct le *le;

	if (!head || jfs < head->jfs)
		return NULL;

	if (jfs >= tail->jfs)
		return l->tail;

	if (jfs - head->jfs < tail->jfs - jfs) {
		le = l->head;
		while (le->next &&
		       ((const struct tmr *)le->next->data)->jfs <= jfs)
			le = le->next;
		return le;
	}

	le = l->tail;
	while (((const struct tmr *)le->data)->jfs > jfs)
		le = le->prev;
	return le;
}

/** Insert tmr into the sorted list l, due at tmr->jfs */
void app_tmr_insert(struct list *l, struct tmr *tmr)
{
	struct le *after = due_before(l, tmr->jfs);

	if (after)
		list_insert_after(l, after, &tmr->le, tmr);
	else
		list_prepend(l, &tmr->le, tmr);
}

/* Same contract as libre's tmr_start: a NULL handler cancels. */
void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	if (!tmr)
		return;

	++app_tmr_starts;

	if (tmr->th)
		list_unlink(&tmr->le);

	tmr->th = th;
	tmr->arg = arg;

	if (!th)
		return;

	tmr->jfs = delay + tmr_jiffies();
	app_tmr_insert(tmrl_get(), tmr);
}
