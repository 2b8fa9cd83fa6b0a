/**
 * @file codec.c  G.711 on librem's tables, with two corrections
 *
 * librem's inline coders are used as they are except at two points where
 * they differ from ITU-T G.711, both of which matter in a mixer:
 *
 * - Encoding -32768 (which a saturated mix produces) negates it in int16:
 *   the µ-law coder then returns near-zero instead of full scale, and the
 *   A-law coder reads before its table. We clamp to -32767 first.
 * - µ-law 0xFF and 0x7F decode to +2 and -2 instead of 0, so every silent
 *   PCMU talker would add a DC offset to the sum and a conference of
 *   silent phones would not encode back to silence. We decode them to 0.
 */
#include <re.h>
#include <rem.h>
#include "media/codec.h"

static inline int16_t clamp(int16_t s)
{
	return s == INT16_MIN ? -INT16_MAX : s;
}

static inline int16_t ulaw_dec(uint8_t u)
{
	return (u & 0x7f) == 0x7f ? 0 : g711_ulaw2pcm(u);
}

void codec_decode(enum codec c, const uint8_t *in, int16_t *out, size_t n)
{
	if (c == CODEC_PCMA) {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_alaw2pcm(in[i]);
		return;
	}

	for (size_t i = 0; i < n; i++)
		out[i] = ulaw_dec(in[i]);
}

void codec_encode(enum codec c, const int16_t *in, uint8_t *out, size_t n)
{
	if (c == CODEC_PCMA) {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_pcm2alaw(clamp(in[i]));
		return;
	}

	for (size_t i = 0; i < n; i++)
		out[i] = g711_pcm2ulaw(clamp(in[i]));
}

/** The byte that decodes closest to 0: what a silent frame is filled with */
uint8_t codec_silence(enum codec c)
{
	return c == CODEC_PCMA ? 0xd5 : 0xff;
}

int codec_from_name(enum codec *cp, const char *name)
{
	if (!cp || !name)
		return EINVAL;

	if (0 == str_casecmp(name, "PCMU"))
		*cp = CODEC_PCMU;
	else if (0 == str_casecmp(name, "PCMA"))
		*cp = CODEC_PCMA;
	else
		return ENOENT;

	return 0;
}

const char *codec_name(enum codec c)
{
	switch (c) {
	case CODEC_PCMU:
		return "PCMU";
	case CODEC_PCMA:
		return "PCMA";
	default:
		return "?";
	}
}
