#!/usr/bin/env bash
# Command-line tests of images: `octic preprocess` and `octic forward` on image
# files (TAP, run by meson).
#
# usage: test_image_cli.sh OCTIC NPY_TOOL GOLDEN_DIR FIXTURES_DIR
set -u

if [ $# -ne 4 ]; then
    echo "usage: $0 OCTIC NPY_TOOL GOLDEN_DIR FIXTURES_DIR" >&2
    exit 2
fi
octic=$1
npy_tool=$2
golden=$3
images=$4/images

# shellcheck source=tests/cli/tap.sh
source "$(dirname "$0")/tap.sh"
tap_init octic-image-cli

# expect_same NAME A.npy B.npy LIMIT: same shape, max |A - B| <= LIMIT.
expect_same() {
    local name=$1
    run "$npy_tool" maxdiff "$2" "$3" "$4"
    if [ "$rc" -eq 0 ]; then pass "$name"; else fail "$name" "$2 vs $3 (limit $4)"; fi
}

# --- octic preprocess -----------------------------------------------------------

expect_ok "octic preprocess --help" "$octic" preprocess --help
if grep -q "^usage: octic preprocess" "$tmp/out"; then
    pass "octic preprocess --help prints its usage"
else
    fail "octic preprocess --help prints its usage"
fi
if "$octic" --help | grep -q '^  preprocess '; then
    pass "octic --help lists preprocess"
else
    fail "octic --help lists preprocess"
fi

# small.png through both transforms at 16 against the reference's numbers
# (tests/fixtures/make_image_fixtures.py: PIL, then ToTensor and Normalize)
expect_ok "preprocess classify" "$octic" preprocess "$images/small.png" --size 16 --output "$tmp/c16.npy"
expect_same "preprocess classify equals the reference" "$tmp/c16.npy" "$images/small.classify16.npy" 1e-6
expect_ok "preprocess segment" "$octic" preprocess "$images/small.png" --size 16 --transform segment \
    --output "$tmp/s16.npy"
expect_same "preprocess segment equals the reference" "$tmp/s16.npy" "$images/small.segment16.npy" 1e-6

# the reference sizes, on a CMYK and a gray JPEG: [1, 3, 224, 224], values within
# the normalized range [(0 - 0.485) / 0.229, (1 - 0.406) / 0.225] = [-2.12, 2.64]
"$npy_tool" zeros "$tmp/zeros224.npy" 1 3 224 224
for photo in coffee_cmyk brick_gray; do
    expect_ok "preprocess $photo.jpg" "$octic" preprocess "$images/$photo.jpg" --output "$tmp/$photo.npy"
    if grep -q "classify \[1, 3, 224, 224\]" "$tmp/out"; then
        pass "preprocess $photo.jpg reports the shape"
    else
        fail "preprocess $photo.jpg reports the shape"
    fi
    expect_same "preprocess $photo.jpg: [1, 3, 224, 224] in the normalized range" "$tmp/$photo.npy" \
        "$tmp/zeros224.npy" 2.65
done

expect_error "preprocess: truncated JPEG" "truncated.jpg: truncated JPEG" \
    "$octic" preprocess "$images/truncated.jpg" --output "$tmp/t.npy"
if [ ! -e "$tmp/t.npy" ]; then pass "preprocess: no output after an error"; else fail "preprocess: no output after an error"; fi
printf 'not an image\n' >"$tmp/n02085620_7.JPEG"
expect_error "preprocess: a text file named .JPEG" "n02085620_7.JPEG: not a JPEG or PNG image" \
    "$octic" preprocess "$tmp/n02085620_7.JPEG" --output "$tmp/t.npy"
: >"$tmp/empty.jpg"
expect_error "preprocess: a zero-byte file" "empty.jpg: empty file" \
    "$octic" preprocess "$tmp/empty.jpg" --output "$tmp/t.npy"
expect_error "preprocess: a missing file" "missing.jpg: cannot open" \
    "$octic" preprocess "$tmp/missing.jpg" --output "$tmp/t.npy"
expect_error "preprocess: no --output" "missing --output" "$octic" preprocess "$images/small.png"
expect_error "preprocess: no IMAGE" "missing IMAGE" "$octic" preprocess --output "$tmp/t.npy"
expect_error "preprocess: unknown transform" "classify or segment, got 'crop'" \
    "$octic" preprocess "$images/small.png" --transform crop --output "$tmp/t.npy"
expect_error "preprocess: bad --size" "--size expects an integer" \
    "$octic" preprocess "$images/small.png" --size 0 --output "$tmp/t.npy"

# --- octic forward on image files ------------------------------------------------

model=$golden/deit_hybrid_p16/model.pth
expect_ok "preprocess chelsea.jpg" "$octic" preprocess "$images/chelsea.jpg" --output "$tmp/chelsea.npy"
expect_ok "forward on the .npy" "$octic" forward "$model" --heads 2 --input "$tmp/chelsea.npy" \
    --output "$tmp/logits_npy.npy" --what logits
expect_ok "forward on the JPEG" "$octic" forward "$model" --heads 2 --input "$images/chelsea.jpg" \
    --output "$tmp/logits_jpg.npy" --what logits
expect_same "forward on a JPEG equals forward on its preprocessed .npy" "$tmp/logits_jpg.npy" \
    "$tmp/logits_npy.npy" 0
expect_ok "forward on a batch of JPEG and PNG" "$octic" forward "$model" --heads 2 \
    --input "$images/chelsea.jpg" --input="$images/coffee_cmyk.jpg" --input "$images/small_palette.png" \
    --output "$tmp/logits3.npy" --what cls
if grep -q "cls \[3, " "$tmp/out"; then pass "the batch has 3 images"; else fail "the batch has 3 images"; fi
expect_ok "forward at --size 128" "$octic" forward "$model" --heads 2 --input "$images/rocket.jpg" \
    --size 128 --output "$tmp/p128.npy" --what patch
if grep -q "patch \[1, 64, " "$tmp/out"; then pass "--size 128 gives 8 x 8 patches"; else fail "--size 128 gives 8 x 8 patches"; fi

expect_error "forward: truncated JPEG" "truncated.jpg: truncated JPEG" "$octic" forward "$model" --heads 2 \
    --input "$images/chelsea.jpg" --input "$images/truncated.jpg" --output "$tmp/t.npy" --what cls
expect_error "forward: a text file named .JPEG" "not a JPEG or PNG" "$octic" forward "$model" --heads 2 \
    --input "$tmp/n02085620_7.JPEG" --output "$tmp/t.npy" --what cls
expect_error "forward: images mixed with a .npy" "mixes .npy and image files" "$octic" forward "$model" --heads 2 \
    --input "$images/chelsea.jpg" --input "$tmp/chelsea.npy" --output "$tmp/t.npy" --what cls
expect_error "forward: two .npy files (one batch is one .npy)" "takes one .npy .*got 2" "$octic" forward "$model" \
    --heads 2 --input "$tmp/chelsea.npy" --input "$tmp/chelsea.npy" --output "$tmp/t.npy" --what cls
expect_error "forward: a size the patches do not divide names --size" "--size 100: image size 100x100" "$octic" \
    forward "$model" --heads 2 --input "$images/chelsea.jpg" --size 100 --output "$tmp/t.npy" --what cls
expect_error "forward: --size with a .npy (whose images keep their side)" "--size applies to image files" \
    "$octic" forward "$model" --heads 2 --input "$tmp/chelsea.npy" --size 64 --output "$tmp/t.npy" --what cls

tap_finish
