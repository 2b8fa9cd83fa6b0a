/**
 * @file codec.h  G.711 (PCMU, PCMA): the only codecs the media engine speaks
 *
 * The enum values are the static RTP payload types (RFC 3551), so a codec
 * is its own payload type on the wire and in SDP. Encoding and decoding
 * work on whole buffers so the per-frame path makes one call per frame.
 */

enum codec {
	CODEC_PCMU = 0,
	CODEC_PCMA = 8,
};

void codec_decode(enum codec c, const uint8_t *in, int16_t *out, size_t n);
void codec_encode(enum codec c, const int16_t *in, uint8_t *out, size_t n);
uint8_t codec_silence(enum codec c);
int codec_from_name(enum codec *cp, const char *name);
const char *codec_name(enum codec c);
