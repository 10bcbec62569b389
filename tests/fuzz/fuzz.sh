#!/usr/bin/env bash
# Build and run the libFuzzer targets of the ring and database readers.
#
#   tests/fuzz/fuzz.sh build              build them into build-fuzz/ (clang)
#   tests/fuzz/fuzz.sh run TARGET SECS    fuzz TARGET for SECS seconds, growing
#                                         tests/fuzz/corpus/TARGET; a crash is
#                                         saved as build-fuzz/crash-* and fails
#   tests/fuzz/fuzz.sh smoke SECS         every target for SECS seconds on the
#                                         corpus, which it leaves as it is (CI)
#
# FUZZ_OUT names the build folder (default: build-fuzz/ in the source tree).
# Targets: ring_read (any bytes as a ring file), tdb_file (any bytes as a
# database file), tdb_rows (our schema with hostile row values).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$root/build-fuzz}
targets=(ring_read tdb_file tdb_rows)

build() {
  command -v clang >/dev/null || { echo "fuzz: clang is not installed (script/bootstrap installs it)" >&2; return 77; }
  mkdir -p "$out"
  local flags=(-g -O1 -std=c17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  local f=$root/formats
  local formats=("$f"/ring/{clock_map,event_kind,fmt_error,py_lines,ring_clock}.c
    "$f"/model/{ring_aux_read,ring_read,trace_intervals,trace_model}.c
    "$f"/tdb/{tdb_pystacks,tdb_read,tdb_read_image,tdb_schema,tdb_summary,tdb_summary_codec}.c
    "$f"/tdb/{tdb_summary_rebuild,tdb_summary_store,tdb_write,tdb_write_events,tdb_write_intervals}.c)
  for t in "${targets[@]}"; do
    clang "${flags[@]}" -I"$f/ring" -I"$f/model" -I"$f/tdb" -o "$out/fuzz_$t" "$root/tests/fuzz/fuzz_$t.c" \
      "$root/tests/fuzz/fuzz_db.c" "${formats[@]}" -lsqlite3
  done
}

run() {
  local t=$1 secs=$2 merge=${3:-merge}
  local corpus=$root/tests/fuzz/corpus/$t
  mkdir -p "$corpus" "$out/new-$t"
  # New inputs go to a scratch folder first, then are merged into the
  # committed corpus (only those that add coverage).
  (cd "$out" && ./"fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
     -artifact_prefix="$out/crash-$t-" "$out/new-$t" "$corpus")
  if [ "$merge" = merge ]; then
    (cd "$out" && ./"fuzz_$t" -merge=1 "$corpus" "$out/new-$t" >/dev/null 2>&1)
  fi
  rm -rf "$out/new-$t"
}

case "${1:-}" in
  build) build ;;
  run) build && run "$2" "$3" ;;
  smoke)
    build || exit $?
    for t in "${targets[@]}"; do run "$t" "${2:-10}" no-merge; done ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
