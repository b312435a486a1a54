#!/usr/bin/env bash
# Tests of `octic dataset info|check` and `octic bench --data`, run by meson
# (protocol TAP) on the demo data sets and on bad folders made here.
#
# usage: test_dataset_cli.sh OCTIC DEMO_DATA FIXTURES_DIR
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 OCTIC DEMO_DATA FIXTURES_DIR" >&2
    exit 2
fi
octic=$1
demo=$2
fixtures=$3

# shellcheck source=tests/cli/tap.sh
source "$(dirname "$0")/tap.sh"
tap_init octic-dataset-cli

# out_has NAME PATTERN: the last command's stdout has a line matching PATTERN.
out_has() {
    if grep -qE -- "$2" "$tmp/out"; then pass "$1"; else fail "$1" "stdout has no line matching /$2/"; fi
}

# --- help -------------------------------------------------------------------------

expect_ok "octic dataset --help" "$octic" dataset --help
out_has "dataset --help prints its usage" '^usage: octic dataset info ROOT'
expect_ok "octic dataset info --help" "$octic" dataset info --help
expect_ok "octic dataset check --help" "$octic" dataset check --help
expect_ok "octic help dataset" "$octic" help dataset
expect_error "dataset without a subcommand" "expected 'info' or 'check'" "$octic" dataset
expect_error "dataset with an unknown subcommand" "unknown subcommand 'list'" "$octic" dataset list "$demo/imagenet"
expect_error "dataset info without a folder" "expected one data set folder" "$octic" dataset info
expect_error "dataset info with an unknown option" "--nope" "$octic" dataset info --nope "$demo/imagenet"
expect_error "dataset info --extra naming no folder" "--extra $tmp/nope: No such file" \
    "$octic" dataset info "$demo/imagenet" --extra "$tmp/nope"
expect_error "dataset info --write-extra on a set that is not an ImageNet" "--write-extra applies to an ImageNet.*voc2012" \
    "$octic" dataset info "$demo/voc" --write-extra

# --- info on the demo sets -----------------------------------------------------------

expect_ok "dataset info on the demo ImageNet" "$octic" dataset info "$demo/imagenet"
out_has "demo ImageNet: layout" '^layout: imagenet$'
out_has "demo ImageNet: train split" '^  train +4 items$'
out_has "demo ImageNet: val split" '^  val +3 items$'
out_has "demo ImageNet: test split" '^  test +3 items$'
out_has "demo ImageNet: classes" '^classes: 3$'
out_has "demo ImageNet: a class with its wnid" '^ +0  n02123045  tabby, tabby cat$'
if grep -q "skipped" "$tmp/out"; then fail "demo ImageNet: nothing skipped"; else pass "demo ImageNet: nothing skipped"; fi

expect_ok "dataset info --json on the demo VOC" "$octic" dataset info "$demo/voc" --json
out_has "demo VOC: layout and root" '"root": "[^"]*/VOCdevkit/VOC2012", "layout": "voc2012", "segmentation": true'
out_has "demo VOC: splits" '"splits": \[\{"name": "train", "items": 2\}, \{"name": "val", "items": 2\}\]'
out_has "demo VOC: class 13 is horse" '\{"id": "horse", "name": "horse"\}'
out_has "demo VOC: 255 ignored" '"ignored_labels": \[255\]'
if [ "$(wc -l <"$tmp/out")" -eq 1 ]; then pass "--json prints one line"; else fail "--json prints one line"; fi

# --- extra files -------------------------------------------------------------------

mkdir -p "$tmp/in"
cp -r "$demo/imagenet/labels.txt" "$demo/imagenet/train" "$demo/imagenet/val" "$demo/imagenet/test" "$tmp/in/"
expect_ok "dataset info builds missing extra files" "$octic" dataset info "$tmp/in"
out_has "says they were built" '^  train +4 items \(extra files missing: built from the folders\)$'
if [ ! -e "$tmp/in/extra" ]; then pass "without --write-extra nothing is written"; else fail "without --write-extra nothing is written"; fi
expect_ok "dataset info --write-extra" "$octic" dataset info "$tmp/in" --write-extra
same=1
for f in entries-TRAIN entries-VAL entries-TEST class-ids-TRAIN class-ids-VAL class-names-TRAIN class-names-VAL; do
    cmp -s "$tmp/in/extra/$f.npy" "$demo/imagenet/extra/$f.npy" || same=0
done
if [ $same -eq 1 ]; then pass "the written extra files are the committed ones, byte for byte"
else fail "the written extra files are the committed ones, byte for byte"; fi
mkdir -p "$tmp/elsewhere"
expect_ok "dataset info --extra DIR reads them there" "$octic" dataset info "$tmp/in" --extra "$demo/imagenet/extra" --json
out_has "--extra is used" "\"extra\": \"$demo/imagenet/extra\""

# --- check ---------------------------------------------------------------------------

expect_ok "dataset check on the demo ImageNet" "$octic" dataset check "$demo/imagenet" --threads 2
out_has "every demo ImageNet image decodes" '^10 of 10 items readable'
expect_ok "dataset check on the demo VOC (masks too)" "$octic" dataset check "$demo/voc"
out_has "every demo VOC pair decodes" '^4 of 4 items readable'
expect_ok "dataset check --split val" "$octic" dataset check "$demo/imagenet" --split val
if grep -q '^train' "$tmp/out"; then fail "--split checks only that split"; else pass "--split checks only that split"; fi
expect_error "dataset check --split of another name" "has no split 'nope' \(it has: train, val, test\)" \
    "$octic" dataset check "$demo/imagenet" --split nope

# A folder with bad files: each listed with its path and the reason.
bad="$tmp/bad"
mkdir -p "$bad/cats" "$bad/dogs"
cp "$fixtures/images/chelsea.jpg" "$bad/cats/good.jpg"
cp "$fixtures/images/truncated.jpg" "$bad/cats/truncated.jpg"
echo "not an image at all" >"$bad/dogs/text.JPEG"
: >"$bad/dogs/empty.jpg"
echo "notes" >"$bad/dogs/notes.txt"
expect_error "dataset check with bad files exits non-zero" \
    "$bad: 3 unreadable files, 1 skipped while reading the folder" "$octic" dataset check "$bad"
out_has "the truncated JPEG, with the reason" "^  unreadable: $bad/cats/truncated.jpg: truncated JPEG"
out_has "the text file named .JPEG, with the reason" "^  unreadable: $bad/dogs/text.JPEG: not a JPEG or PNG image"
out_has "the empty file, with the reason" "^  unreadable: $bad/dogs/empty.jpg: empty file"
out_has "the non-image name, with the reason" "^  $bad/dogs/notes.txt: skipped: not an image file name"
out_has "the good image still counts" '^1 of 4 items readable'
run "$octic" dataset check "$bad" --json
if [ "$rc" -eq 1 ] && grep -q '"unreadable_count": 3, "skipped_count": 1' "$tmp/out" &&
    grep -q "\"path\": \"$bad/cats/truncated.jpg\", \"reason\": \"truncated JPEG" "$tmp/out"; then
    pass "dataset check --json lists them too"
else
    fail "dataset check --json lists them too"
fi

# File names are bytes: one that is not UTF-8 is escaped as Python's
# surrogateescape does (\udcff), so that --json stays JSON; UTF-8 stays as is.
names="$tmp/names"
mkdir -p "$names/cats"
cp "$fixtures/images/chelsea.jpg" "$names/cats/good.jpg"
: >"$names/cats/x"$'\xff'"y.txt"
: >"$names/cats/caf"$'\xc3\xa9'".txt"
run "$octic" dataset check "$names" --json
grep -q 'x\\udcffy.txt' "$tmp/out" && grep -q "caf"$'\xc3\xa9'".txt" "$tmp/out" && ! grep -q $'\xff' "$tmp/out"
check "--json escapes a file name's bytes that are not UTF-8" $?

# A segmentation set whose mask does not fit its image, and a mask of the wrong depth.
voc="$tmp/voc/VOCdevkit/VOC2012"
mkdir -p "$voc/JPEGImages" "$voc/SegmentationClass" "$voc/ImageSets/Segmentation"
cp "$demo/voc/VOCdevkit/VOC2012/JPEGImages/demo_horse.jpg" "$voc/JPEGImages/a.jpg"
cp "$demo/voc/VOCdevkit/VOC2012/SegmentationClass/demo_chelsea.png" "$voc/SegmentationClass/a.png"
cp "$demo/voc/VOCdevkit/VOC2012/JPEGImages/demo_horse.jpg" "$voc/JPEGImages/b.jpg"
cp "$fixtures/images/mask_16bit.png" "$voc/SegmentationClass/b.png"
printf 'a\nb\n' >"$voc/ImageSets/Segmentation/train.txt"
expect_error "dataset check on bad masks exits non-zero" "2 unreadable files, 1 skipped" "$octic" dataset check "$tmp/voc"
out_has "a mask of another size, with the reason" \
    "^  unreadable: $voc/SegmentationClass/a.png: the mask is 451x300 but its image $voc/JPEGImages/a.jpg is 400x328"
out_has "a 16-bit mask, with the reason" "^  unreadable: $voc/SegmentationClass/b.png: .*16-bit"
out_has "the missing split list, with the reason" "^  $voc/ImageSets/Segmentation/val.txt: missing split list"

# --- folders that are no data set -------------------------------------------------------

mkdir -p "$tmp/empty"
expect_error "a folder of no layout: what was looked for" \
    "$tmp/empty: not a data set: looked for ImageNet \(labels.txt with train/, val/ or test/\), ADE20K" \
    "$octic" dataset info "$tmp/empty"
expect_error "a folder that does not exist" "$tmp/missing: No such file or directory" "$octic" dataset info "$tmp/missing"
printf 'n01,one\nn02,two,extra\n' >"$tmp/in/labels.txt"
rm -rf "$tmp/in/extra"
expect_error "a broken labels.txt" "$tmp/in/labels.txt: line 2 has 3 fields: expected 2" "$octic" dataset check "$tmp/in"

# --- bench --data ----------------------------------------------------------------------

expect_ok "octic bench --data ... --json" "$octic" bench --data "$demo/imagenet" --split train --images 8 --threads 1 --batch 4 --json
out_has "bench --data reports images per second" '"loader": \{"images": 8, "skipped": 0, "seconds": [0-9.]+, "images_per_second": [0-9.]+'
out_has "bench --data reports the slow consumer's idle share" '"slow_consumer": \{.*"idle_fraction": [0-9.]+'
expect_error "bench --data on no data set" "not a data set" "$octic" bench --data "$tmp/empty"

tap_finish
