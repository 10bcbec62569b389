#!/usr/bin/env bash
# carry.sh — pack a build for a machine with no compiler and no Debian
# packages (a many-core box to run the perturbation benchmark on): giltrace,
# its shims and writer module, the plain fake CPython, the non-libc
# libraries ldd names (in lib/, found through an RPATH of $ORIGIN/lib, not
# RUNPATH, so that indirect dependencies resolve too) and the benchmark
# scripts. Needs patchelf (Debian's package).
#
#   tests/bench/carry.sh BUILD_DIR OUT_DIR
#   then, there:  python3 OUT_DIR/bench/bench_perturbation.py \
#                   --giltrace OUT_DIR/giltrace --shim OUT_DIR/libgiltrace.so
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v patchelf >/dev/null || { echo "carry.sh: patchelf is missing (apt-get install patchelf)" >&2; exit 1; }

mkdir -p "$out/lib" "$out/bench/programs"
bins=(tracer/giltrace tracer/libgiltrace.so tracer/libgiltrace-writer.so tracer/libgiltrace-attach.so
      tests/fake_cpython/fake_cpython_plain)
for b in "${bins[@]}"; do
    [ -f "$build/$b" ] || { echo "carry.sh: $build/$b is not built" >&2; exit 1; }
    cp "$build/$b" "$out/"
done
# The libraries every binary needs, but what the C library itself provides.
for b in "${bins[@]}"; do
    ldd "$build/$b" | awk '$3 ~ /^\// { print $3 }'
done | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) continue ;;
    esac
    cp -L "$lib" "$out/lib/"
done
for b in "${bins[@]}"; do
    patchelf --force-rpath --set-rpath '$ORIGIN/lib' "$out/$(basename "$b")"
done
for l in "$out"/lib/*; do
    patchelf --force-rpath --set-rpath '$ORIGIN' "$l"
done
cp "$here"/bench_perturbation.py "$here"/bench_shim.py "$here"/benchlib.py "$out/bench/"
cp "$here"/programs/perturb.py "$here"/../../examples/experiment.py "$out/bench/programs/"
echo "carry.sh: $(du -sh "$out" | cut -f1) in $out"
