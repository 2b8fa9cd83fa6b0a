/**
 * @file player.h  Music for held and listen-disconnected parties
 *
 * A player is a music file (or a folder of them, in name order, looped)
 * decoded once, resampled to 8 kHz and pre-encoded for each codec, so a
 * thousand listeners cost a thousand pointers into one copy, not a
 * thousand decoders. Each listener's place is a frame index it owns.
 *
 * A loaded player is immutable: any number of media threads may read its
 * frames at once. Its reference count is not: libre 1.1.0's mem_ref and
 * mem_deref are plain (non-atomic) increments, so take and drop references
 * on one thread only (the control thread) and hand media threads borrowed
 * pointers that outlive their use. The cache is control-thread only too.
 */

struct player;
struct player_cache;

enum {
	PLAYER_RATE = 8000,	   /**< [Hz] of every player */
	PLAYER_FRAME = 160,	   /**< samples (= encoded bytes) per frame */
	PLAYER_MAX_SECONDS = 3600, /**< longest file we load */
};

int player_load(struct player **pp, const char *path, char *reason, size_t sz);
size_t player_frames(const struct player *p);
const uint8_t *player_frame(const struct player *p, enum codec c, size_t *pos);
const int16_t *player_pcm(const struct player *p, size_t *pos);

int player_cache_alloc(struct player_cache **cp);
int player_cache_get(struct player_cache *c, struct player **pp,
		     const char *path, char *reason, size_t sz);
uint32_t player_cache_prune(struct player_cache *c);
uint32_t player_cache_count(const struct player_cache *c);
