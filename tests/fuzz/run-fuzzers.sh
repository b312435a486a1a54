#!/bin/sh
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan + UBSan) and runs
# each for a bounded time on a seed corpus made from the golden checkpoints
# and the reader fixtures.
#
#   tests/fuzz/run-fuzzers.sh [seconds-per-target] [target ...]
#
# Defaults: 60 s; fuzz_pth fuzz_safetensors fuzz_npy fuzz_image fuzz_npyrec
# fuzz_dataset_text. Crashes, leaks and
# timeouts are written to build-fuzz/fuzz-artifacts/ and make the script
# fail. Corpora grow in build-fuzz/fuzz-corpus/<target>/ across runs.
set -eu

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_pth fuzz_safetensors fuzz_npy fuzz_image fuzz_npyrec fuzz_dataset_text}

root=$(cd "$(dirname "$0")/../.." && pwd)
build="${FUZZ_BUILD:-$root/build-fuzz}" # another build folder: FUZZ_BUILD=/path
cd "$root"

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Dbuildtype=debugoptimized
fi
for t in $targets; do
    ninja -C "$build" "tests/fuzz/$t"
done

# Seeds: real files of each format: the golden checkpoints (0.5-1 MB) and
# the small fixtures, which are the ones the fuzzer mutates fastest.
seed() {
    dir="$build/fuzz-corpus/$1"
    mkdir -p "$dir"
    shift
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$dir/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
}
fx="$root/tests/fixtures"
seed fuzz_pth "$fx"/*.pth "$root"/tests/golden/*/model.pth
seed fuzz_safetensors "$fx"/*.safetensors
seed fuzz_npy "$fx"/*.npy "$root"/tests/golden/deit_hybrid_p16/input.npy
# the small decoding cases (every JPEG and PNG kind) and masks, not the photos:
# small seeds keep the runs fast
seed fuzz_image "$fx"/images/small*.jpg "$fx"/images/small*.png "$fx"/images/mask_*.png \
    "$fx"/images/truncated.jpg "$fx"/images/horse_mask.png
seed fuzz_npyrec "$fx"/datasets/records/*.npy "$fx"/datasets/imagenet-tree/extra/*.npy
# the data sets' text files: labels.txt (demo and fixtures), the demo's VOC
# split lists, objectInfo150 .csv/.txt and a VOC list with every kind of line
demo="$root/resources/demo/data"
seed fuzz_dataset_text "$demo"/imagenet/labels.txt "$fx"/datasets/*/labels.txt \
    "$demo"/voc/VOCdevkit/VOC2012/ImageSets/Segmentation/*.txt "$root"/tests/fuzz/seeds/*

# A safetensors seed converted from a golden checkpoint, when the CLI is built.
if [ -x "$root/build/app/octic" ] && [ ! -f "$build/fuzz-corpus/fuzz_safetensors/seed-golden" ]; then
    "$root/build/app/octic" convert --heads 2 "$root/tests/golden/dino_hybrid_p16/model.pth" \
        "$build/fuzz-corpus/fuzz_safetensors/seed-golden" >/dev/null 2>&1 || true
fi

mkdir -p "$build/fuzz-artifacts"
status=0
for t in $targets; do
    echo "== $t: $seconds s"
    # No -max_len: libFuzzer takes the largest seed's size, so the golden
    # checkpoints are used whole rather than truncated.
    if ! "$build/tests/fuzz/$t" "$build/fuzz-corpus/$t" \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
            2>"$build/fuzz-artifacts/$t.log"; then
        echo "!! $t failed: see $build/fuzz-artifacts/$t.log"
        tail -40 "$build/fuzz-artifacts/$t.log"
        status=1
    else
        grep -E "stat::number_of_executed_runs|cov:" "$build/fuzz-artifacts/$t.log" | tail -2
    fi
done
exit $status
