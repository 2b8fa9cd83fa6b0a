/**
 * @file mix.c  The N-1 mixer: every talker summed once, in int32
 *
 * Each listener's frame is the sum minus its own contribution, so N
 * parties cost 2N passes over a frame instead of N^2. The sum is kept in
 * int32 (exact for up to 65536 full-scale talkers) and saturated only at
 * the end, per listener, so a loud pair does not wrap into noise as
 * librem's aumix does. A party on music or silence is out of the sum
 * whatever its talk flag says: held and listen-disconnected parties must
 * not be heard, and that rule lives here, once, not in every caller.
 */
#include <string.h>
#include <re.h>
#include "media/mix.h"

void mix_init(struct mix *mix)
{
	if (!mix)
		return;

	list_init(&mix->partyl);
	memset(mix->sum, 0, sizeof(mix->sum));
}

void mix_add(struct mix *mix, struct mix_party *p)
{
	if (!mix || !p)
		return;

	list_append(&mix->partyl, &p->le, p);
}

void mix_remove(struct mix_party *p)
{
	if (!p)
		return;

	list_unlink(&p->le);
}

static inline bool heard(const struct mix_party *p)
{
	return p->talk && p->has_in && p->source == MIX_SRC_MIX;
}

static inline int16_t saturate(int32_t v)
{
	if (v > INT16_MAX)
		return INT16_MAX;
	if (v < INT16_MIN)
		return INT16_MIN;
	return (int16_t)v;
}

static void listener_out(const struct mix *mix, struct mix_party *p)
{
	if (!heard(p)) {
		for (size_t i = 0; i < MIX_FRAME; i++)
			p->out[i] = saturate(mix->sum[i]);
		return;
	}

	for (size_t i = 0; i < MIX_FRAME; i++)
		p->out[i] = saturate(mix->sum[i] - p->in[i]);
}

/**
 * Mix one tick. Consumes the input: has_in is false for every party
 * afterwards, so a party whose packets stop is silent, not repeated.
 */
void mix_run(struct mix *mix)
{
	struct le *le;

	if (!mix)
		return;

	memset(mix->sum, 0, sizeof(mix->sum));

	for (le = mix->partyl.head; le; le = le->next) {
		const struct mix_party *p = le->data;

		if (!heard(p))
			continue;
		for (size_t i = 0; i < MIX_FRAME; i++)
			mix->sum[i] += p->in[i];
	}

	for (le = mix->partyl.head; le; le = le->next) {
		struct mix_party *p = le->data;

		if (p->listen && p->source == MIX_SRC_MIX)
			listener_out(mix, p);
		p->has_in = false;
	}
}
