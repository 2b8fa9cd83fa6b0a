/**
 * @file priv.h  The stats module's internals: the counters, writable
 */

struct stats_counters *stats_mut(void);
