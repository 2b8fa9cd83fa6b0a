#!/bin/sh
# Runs one libFuzzer target for a given time over its committed seeds:
#   fuzz/run.sh BINARY SECONDS SEEDS WORK [libFuzzer options...]
# New inputs go to WORK/new, never into SEEDS (the committed corpus, read
# only here); a crash, leak or timeout is written to WORK/crash/ and
# fails the run. The final stats line carries the executions and exec/s
# that docs/reliability.md records. FUZZ_FRESH=1 (the ctest smoke runs)
# starts WORK/new empty, so a smoke run takes as long each time.
set -eu
bin=$1
secs=$2
seeds=$3
work=$4
shift 4
if [ -n "${FUZZ_FRESH:-}" ]; then
	rm -rf "$work/new"
fi
mkdir -p "$work/new" "$work/crash"
exec </dev/null "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$work/crash/" -print_final_stats=1 "$@" \
	"$work/new" "$seeds"
