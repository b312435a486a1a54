#!/usr/bin/env bash
# octic eval and octic results end to end (TAP, run by meson): every protocol
# on the demo data sets and the golden models, the results commands, and the
# reliability of the runs: SIGKILL during extraction and during training,
# two writers at once, a read-only database and a file size limit.
#
# usage: test_eval_cli.sh OCTIC GOLDEN_DIR DEMO_DATA_DIR
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 OCTIC GOLDEN_DIR DEMO_DATA_DIR" >&2
    exit 2
fi
octic=$1
golden=$2
demo=$3
imagenet=$demo/imagenet
voc=$demo/voc

# shellcheck source=tests/cli/tap.sh
source "$(dirname "$0")/../cli/tap.sh"
tap_init octic-eval-test
export HOME=$tmp/home XDG_DATA_HOME= XDG_CACHE_HOME=
mkdir -p "$HOME"

# the value of a metric of a run in `octic results show`
metric() {
    "$octic" results show "$1" --db "$2" | awk -v m="$3" '$1 == m && NF == 2 { print $2 }'
}
state_of() {
    "$octic" results list --db "$2" --format csv | awk -F, -v r="$1" '$1 == r { print $3 }'
}
heads_of() {
    sed -n 's/.*"num_heads": *\([0-9]*\).*/\1/p' "$golden/$1/case.json"
}
size_of() {
    sed -n 's/.*"input_size": *\([0-9]*\).*/\1/p' "$golden/$1/case.json"
}

db=$tmp/results.sqlite
model=$golden/dino_hybrid_p16/model.pth
heads=$(heads_of dino_hybrid_p16)
common=(--heads "$heads" --size 64 --db "$db" --batch-size 2)

# ---- every protocol on the demo data ----------------------------------------
# (an unreadable image among them: skipped, said, and recorded with the run)
mkdir -p "$tmp/skip/train/a" "$tmp/skip/train/b" "$tmp/skip/val/a" "$tmp/skip/val/b"
for c in a b; do
    cp "$imagenet"/train/*/*.JPEG "$tmp/skip/train/$c/" 2>/dev/null
done
cp "$(ls "$imagenet"/val/*/*.JPEG | head -1)" "$tmp/skip/val/a/good.jpg"
echo garbage >"$tmp/skip/val/b/bad.jpg"
run "$octic" eval knn "$model" --data "$tmp/skip" --heads "$heads" --size 64 --db "$tmp/skip.sqlite" --ks 1
grep -q "^octic eval: note: 1 of the val split's 2 images skipped, unreadable: $tmp/skip/val/b/bad.jpg (not a JPEG or PNG" "$tmp/err"
check "an unreadable image is skipped, and the run says which and why" $? "$(cat "$tmp/err")"
grep -q "extracting val 2/2 (100%)" "$tmp/err"; check "and its progress counts it" $?
"$octic" results show 1 --db "$tmp/skip.sqlite" | grep -q "^  message    1 of the val split's 2 images skipped"
check "and the run's record says so" $?
# unreadable train images leave 8 of 10: k = 10 runs as k = 8, and is recorded so
echo garbage >"$tmp/skip/train/a/bad1.jpg"
echo garbage >"$tmp/skip/train/b/bad2.jpg"
run "$octic" eval knn "$model" --data "$tmp/skip" --heads "$heads" --size 64 --db "$tmp/skip.sqlite" --ks 10
"$octic" results show 2 --db "$tmp/skip.sqlite" >"$tmp/show"
[ "$rc" -eq 0 ] && grep -Eq "^  ks +8$" "$tmp/show" && grep -q "top1_k8" "$tmp/show" && ! grep -q "top1_k10" "$tmp/show"
check "ks cut by unreadable train images are recorded as they ran" $? "$(grep -E "ks|top1" "$tmp/show")"
rm "$tmp/skip/train/a/bad1.jpg" "$tmp/skip/train/b/bad2.jpg"

run "$octic" eval knn "$model" --data "$imagenet" "${common[@]}" --ks "1, 3"
check "knn on the demo ImageNet" $(( rc != 0 )) "exit $rc"
grep -q "run 1 (knn-dinov2-custom): done" "$tmp/out"; check "knn prints its run (custom: not the published settings)" $?
t1=$(metric 1 "$db" top1)
awk -v v="$t1" 'BEGIN { exit !(v >= 0 && v <= 100) }'; check "knn top1 is a percentage ($t1)" $?
grep -q "extracting train" "$tmp/err"; check "knn reports its phases on stderr" $?
grep -Eq "^octic eval: extracting train 4/4 \(100%\), [0-9:]+ elapsed, ETA" "$tmp/err"
check "and, stderr not being a terminal, its progress and ETA in lines for a log" $? "$(cat "$tmp/err")"

# DINOv2's ks (10 and up) on the 4 train images: k is every train image, and the run says so
run "$octic" eval knn "$model" --data "$imagenet" --heads "$heads" --size 64 --db "$tmp/fewk.sqlite" --batch-size 2
check "knn with the default ks on a 4-image train split runs" $(( rc != 0 )) "exit $rc $(cat "$tmp/err")"
grep -q "^octic eval: note: k = 4, every train image" "$tmp/err"; check "and says that k is every train image" $?
[ -n "$(metric 1 "$tmp/fewk.sqlite" top1_k4)" ] && [ "$(metric 1 "$tmp/fewk.sqlite" best_k)" = 4 ]
check "and records k = 4 in its metrics" $?
"$octic" results show 1 --db "$tmp/fewk.sqlite" >"$tmp/show" 2>&1
grep -q "^run 1: knn-dinov2-custom, done" "$tmp/show" && grep -Eq "^  ks +4$" "$tmp/show" &&
    grep -q "^  message    k = 4, every train image" "$tmp/show"
check "as a custom run (not the published protocol) whose ks parameter is 4, with the note as its message" $? \
    "$(cat "$tmp/show")"
run "$octic" eval knn "$model" --data "$imagenet" --heads "$heads" --size 64 --db "$tmp/fewk.sqlite" --batch-size 2 --ks 3,5,1
grep -q "note: k 3,1: the larger ks exceed the train split's 4 images" "$tmp/err"
check "ks past the train split are left out, and the run says which it used" $? "$(cat "$tmp/err")"
[ -n "$(metric 2 "$tmp/fewk.sqlite" top1_k1)" ] && [ -z "$(metric 2 "$tmp/fewk.sqlite" top1_k5)" ]
check "and records only those" $?

run "$octic" eval linear "$model" --data "$imagenet" "${common[@]}" --cached --epochs 2 --epoch-length 5 --train-batch 4
check "linear-cached on the demo ImageNet" $(( rc != 0 )) "exit $rc"
grep -q "reused" "$tmp/err"; check "linear-cached reuses the features knn extracted" $?
trials=$("$octic" results show 2 --db "$db" | grep -c "^  linear ")
[ "$trials" -eq 52 ]; check "linear records its 52 heads as trials ($trials)" $?

run "$octic" eval linear "$model" --data "$imagenet" "${common[@]}" --epochs 1 --epoch-length 3 --train-batch 2
check "linear-dinov2 (augmented, backbone every step) on the demo ImageNet" $(( rc != 0 )) "exit $rc"
"$octic" results show 3 --db "$db" | grep -q "augment .*RandomResizedCrop"; check "the augmentation is recorded" $?

run "$octic" eval seg "$model" --data "$voc" "${common[@]}" --cs 0.01,1
check "seg on the demo VOC 2012" $(( rc != 0 )) "exit $rc"
miou=$(metric 4 "$db" mIoU)
[ -n "$miou" ]; check "seg records mIoU ($miou)" $?
"$octic" results show 4 --db "$db" | grep -q "ignored_labels *255"; check "VOC ignores label 255" $?
"$octic" results show 4 --db "$db" | grep -Eq "^  logreg +C=0.01 +mIoU"; check "seg records the C trials" $?
"$octic" results show 4 --db "$db" | grep -Eq "^  knn +[0-9]+ .* IoU"; check "seg records per-class IoU" $?

# a k above 64 is the k used (it was cut to 64: k = 100 scored as k = 64)
for k in 64 100; do
    run "$octic" eval seg "$model" --data "$voc" --heads "$heads" --size 128 --db "$tmp/bigk.sqlite" --seg-ks $k \
        --classifiers knn
done
k64=$(metric 1 "$tmp/bigk.sqlite" knn_mIoU)
k100=$(metric 2 "$tmp/bigk.sqlite" knn_mIoU)
[ "$rc" -eq 0 ] && [ -n "$k64" ] && [ "$k64" != "$k100" ]; check "seg k-NN with k = 100 is not k = 64" $? "$k64 and $k100"

# small values (a C of 1e-06) keep their digits in show and compare, and a CSV cell is a number
run "$octic" eval seg "$model" --data "$voc" --heads "$heads" --size 64 --db "$tmp/small.sqlite" --cs 1e-6,3e-5 \
    --classifiers logreg
bc=$(metric 1 "$tmp/small.sqlite" best_C)
[ "$rc" -eq 0 ] && { [ "$bc" = 1e-06 ] || [ "$bc" = 3e-05 ]; }; check "results show prints best_C as $bc" $?
run "$octic" results compare 1 1 --db "$tmp/small.sqlite"
grep -q "$bc ([+]0.00)" "$tmp/out"
check "results compare keeps best_C's digits" $? "$(cat "$tmp/out")"
grep -Eq " 2 \([+]0\) " "$tmp/out"; check "and shows counts (images) as whole numbers" $? "$(cat "$tmp/out")"
run "$octic" results list --protocol nope --db "$tmp/small.sqlite"
[ "$rc" -eq 0 ] && grep -q "^no runs of protocol nope in " "$tmp/out"
check "results list --protocol with no run of it says so (the database has runs)" $? "$(cat "$tmp/out")"
run "$octic" results compare 1 --metrics mIoU,miou --db "$tmp/small.sqlite"
[ "$rc" -eq 1 ] && grep -q "no run given has a metric 'miou'" "$tmp/err"
check "results compare --metrics with a metric no run has is an error" $? "$(cat "$tmp/err")"
run "$octic" results compare 1 --db "$tmp/small.sqlite" --format csv
tail -n 1 "$tmp/out" | grep -q ",$bc,"; check "results compare --format csv writes numbers" $? "$(cat "$tmp/out")"

# ---- the results commands ---------------------------------------------------
run "$octic" results export --format text --db "$db"
[ "$rc" -eq 2 ] && grep -q "does not take --format text" "$tmp/err"; check "results export --format text is refused" $?
run "$octic" eval knn "$model" --data "$imagenet" --subset first:99999999999999999999999
[ "$rc" -eq 2 ] && grep -q "subset expects" "$tmp/err"; check "a --subset count that overflows is refused" $?
run "$octic" results list --db "$db"
[ "$rc" -eq 0 ] && [ "$(grep -c ' done ' "$tmp/out")" -eq 4 ]; check "results list shows 4 done runs" $?
run "$octic" results compare 1 2 3 --metrics top1,top5 --format markdown --db "$db"
[ "$rc" -eq 0 ] && grep -q "^| model | run | protocol | top1 | top5 |" "$tmp/out" && grep -Eq "\| 2 \| linear-cached-custom \| [0-9.]+ \([+-][0-9.]+\)" "$tmp/out"
check "results compare: models as rows, metrics as columns, deltas to run 1" $?
grep -q "^| --- | --- | --- | ---: | ---: |$" "$tmp/out"; check "with its text columns aligned left, its numbers right" $?
run "$octic" results compare 1 2 --baseline 2 --format csv --db "$db"
[ "$rc" -eq 0 ] && head -1 "$tmp/out" | grep -q "^model,run,protocol,"; check "results compare --baseline --format csv" $?
run "$octic" results export --db "$db" --output "$tmp/export.csv"
[ "$rc" -eq 0 ] && head -1 "$tmp/export.csv" | grep -q "^run,protocol,state,model,sha256,checkpoint,data,started,ended,metric,value$" &&
    grep -q ",seg-capi-custom,done,.*,mIoU," "$tmp/export.csv"
check "results export CSV" $?
# --output /dev/stdout appended to a file (>>): what the file held stays; and
# an export over a file of mode 600 keeps that mode
echo "earlier line" >"$tmp/appended.csv"
"$octic" results export --db "$db" --output /dev/stdout >>"$tmp/appended.csv" 2>"$tmp/err"
[ "$(head -1 "$tmp/appended.csv")" = "earlier line" ] && grep -q "^run,protocol," "$tmp/appended.csv"
check "results export --output /dev/stdout >> FILE appends" $? "$(head -3 "$tmp/appended.csv"; cat "$tmp/err")"
chmod 600 "$tmp/export.csv"
run "$octic" results export --db "$db" --output "$tmp/export.csv"
[ "$rc" -eq 0 ] && [ "$(stat -c %a "$tmp/export.csv")" = 600 ]
check "an export replacing a file keeps its mode" $? "$(stat -c %a "$tmp/export.csv")"
run "$octic" results export --format markdown --protocol knn-dinov2-custom --db "$db"
[ "$rc" -eq 0 ] && grep -q "^| 1 | knn-dinov2-custom | done |" "$tmp/out" && ! grep -q "seg-capi" "$tmp/out"
check "results export Markdown, one protocol" $?
run "$octic" results check --db "$db"
[ "$rc" -eq 0 ] && grep -q "integrity ok, schema version 1" "$tmp/out"; check "results check" $?
run "$octic" results show 99 --db "$db"
[ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "no run 99" "$tmp/err"; check "results show of a missing run: one error line" $?
# class folders without splits, then the same folders in train/ and val/
mkdir -p "$tmp/cf/a" "$tmp/cf/b" "$tmp/sf/train" "$tmp/sf/val"
cp "$imagenet"/train/n02123045/*.JPEG "$tmp/cf/a/" && cp "$imagenet"/train/n03063599/*.JPEG "$tmp/cf/b/"
run "$octic" eval knn "$model" --data "$tmp/cf" "${common[@]}" --db "$tmp/cf.sqlite" --ks 1
[ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "single split (all).*put the class folders in train/ and val/" "$tmp/err"
check "knn on class folders without splits says how to make them" $?
cp -r "$tmp/cf/a" "$tmp/cf/b" "$tmp/sf/train/" && cp -r "$tmp/cf/a" "$tmp/cf/b" "$tmp/sf/val/"
run "$octic" eval knn "$model" --data "$tmp/sf" "${common[@]}" --db "$tmp/cf.sqlite" --ks 1
[ "$rc" -eq 0 ] && [ "$("$octic" results list --db "$tmp/cf.sqlite" --format csv | grep -c ,done,)" -eq 1 ] &&
    awk -v t="$(metric 1 "$tmp/cf.sqlite" train_images)" -v v="$(metric 1 "$tmp/cf.sqlite" val_images)" 'BEGIN { exit !(t == 3 && v == 3) }'
check "knn on split folders trains on train/ and scores val/" $? "$(cat "$tmp/err")"
run "$octic" results list --db "$tmp/missing/results.sqlite"
[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "missing/results.sqlite: no results database there" "$tmp/err" &&
    [ ! -e "$tmp/missing" ]
check "results list of a path with no database: one error line, nothing created" $?
run "$octic" eval knn "$model" --data "$voc" "${common[@]}"
[ "$rc" -ne 0 ] && grep -q "classification data set" "$tmp/err"; check "knn on a segmentation set is refused" $?
run "$octic" eval seg "$model" --data "$imagenet" "${common[@]}" --split train:nope
[ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; check "seg on a classification set: one error line" $?
run "$octic" eval knn "$model" --data "$imagenet" "${common[@]}" --split train:nope
[ "$rc" -ne 0 ] && grep -q "no split 'nope'" "$tmp/err"; check "unknown split named" $?
run "$octic" eval knn "$model" --data "$imagenet" --heads "$heads" --size 64 --db "$tmp/same.sqlite" --ks 1 --split val:val
"$octic" results show 1 --db "$tmp/same.sqlite" >"$tmp/show" 2>&1
[ "$rc" -eq 0 ] && grep -q "^octic eval: note: trained and scored on the same split (val)" "$tmp/err" &&
    grep -q "^  message    trained and scored on the same split (val)" "$tmp/show"
check "a run trained and scored on one split says so, and records it" $? "$(cat "$tmp/err" "$tmp/show")"
# settings that cannot be, or that another protocol would ignore: refused, before any work
for bad in "knn|--cs 1|an option of eval seg" "linear|--ks 10|an option of eval knn" \
    "linear|--lrs -1|above 0" "linear|--lrs 1e300|at most 100" "seg|--cs 0|must be positive" \
    "seg|--classifiers knnfoo|--classifiers expects" "seg|--classifiers knn,knn,x|--classifiers expects" \
    "knn|--ks 1,2,|positive integers" "knn|--ks 1,,3|positive integers" "knn|--ks 0x2|positive integers" \
    "knn|--ks 1e3|positive integers" "knn|--ks 3.7|positive integers" "linear|--lrs 0x1p-4|--lrs"; do
    IFS='|' read -r proto opt says <<<"$bad"
    # shellcheck disable=SC2086
    run "$octic" eval "$proto" "$model" --data "$imagenet" --db "$tmp/never.sqlite" $opt
    [ "$rc" -eq 2 ] && grep -q -- "$says" "$tmp/err" && [ ! -e "$tmp/never.sqlite" ]
    check "eval $proto $opt is refused ($says)" $? "$(cat "$tmp/err")"
done
for cmd in "eval --help" "results --help"; do
    run "$octic" $cmd
    [ "$rc" -eq 0 ] && grep -q "^usage: octic" "$tmp/out"; check "octic $cmd" $?
done

# ---- the golden models ------------------------------------------------------
gdb=$tmp/golden.sqlite
for case_dir in "$golden"/*/; do
    name=$(basename "$case_dir")
    [ -f "$case_dir/model.pth" ] || continue
    h=$(heads_of "$name")
    s=$(size_of "$name")
    run "$octic" eval knn "$case_dir/model.pth" --heads "$h" --size "$s" --data "$imagenet" --db "$gdb" --ks 1,3
    check "knn with golden $name" $(( rc != 0 )) "exit $rc"
done
for name in deit_hybrid_p16 dino_invariant_p16; do
    h=$(heads_of "$name")
    s=$(size_of "$name")
    run "$octic" eval linear "$golden/$name/model.pth" --heads "$h" --size "$s" --data "$imagenet" --db "$gdb" --cached --epochs 1 --epoch-length 4 --train-batch 2
    check "linear-cached with golden $name" $(( rc != 0 )) "exit $rc"
    run "$octic" eval seg "$golden/$name/model.pth" --heads "$h" --size "$s" --data "$voc" --db "$gdb" --cs 1
    check "seg with golden $name" $(( rc != 0 )) "exit $rc"
done

# ---- reliability ------------------------------------------------------------
# wait_for FILE PATTERN: until a line matches (at most 60 s)
wait_for() {
    for _ in $(seq 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
kdb=$tmp/kill.sqlite
kcache=$tmp/kcache
# SIGKILL during extraction: each batch of 1 image pauses 400 ms
OCTIC_EVAL_PAUSE_MS=400 "$octic" eval knn "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$kdb" \
    --cache "$kcache" --batch-size 1 --ks 1 >"$tmp/kill.out" 2>"$tmp/kill.err" &
pid=$!
for _ in $(seq 600); do
    [ "$(find "$kcache" -name 'chunk-*.bin' 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null
chunks=$(find "$kcache" -name 'chunk-*.bin' | wc -l)
[ "$chunks" -ge 2 ]; check "killed during extraction after $chunks finished chunks" $?
run "$octic" results check --db "$kdb"
check "database after SIGKILL in extraction passes integrity_check" $(( rc != 0 ))
[ "$(state_of 1 "$kdb")" = interrupted ]; check "the killed run shows as interrupted" $? "state: $(state_of 1 "$kdb")"
run "$octic" eval knn "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$kdb" --cache "$kcache" --batch-size 1 --ks 1
# a chunk is reused only when complete (size and header checked), so all of
# them being reused also says that none was left half-written
[ "$rc" -eq 0 ] && grep -q "reused $chunks cached feature chunks" "$tmp/err"
check "the next run reuses all $chunks finished chunks" $? "$(grep reused "$tmp/err")"
[ "$(state_of 2 "$kdb")" = done ]; check "the next run is done" $?
# a temporary chunk a killed run left an hour ago goes at the next run; a fresh
# one (another process writing it now) stays
cdir=$(dirname "$(find "$kcache" -name 'chunk-*.bin' | head -1)")
echo stale >"$cdir/chunk-000099.bin.tmp-AAAAAA"; touch -d "2 hours ago" "$cdir/chunk-000099.bin.tmp-AAAAAA"
echo fresh >"$cdir/chunk-000098.bin.tmp-BBBBBB"
run "$octic" eval knn "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$tmp/stale.sqlite" --cache "$kcache" --batch-size 1 --ks 1
[ "$rc" -eq 0 ] && [ ! -e "$cdir/chunk-000099.bin.tmp-AAAAAA" ] && [ -e "$cdir/chunk-000098.bin.tmp-BBBBBB" ]
check "a stale temporary chunk is removed, a fresh one kept" $? "$(ls "$cdir")"
rm -f "$cdir/chunk-000098.bin.tmp-BBBBBB"
# another number of heads is another model: nothing of the cache is reused
other_heads=$(( heads == 4 ? 2 : 4 ))
run "$octic" eval knn "$model" --heads "$other_heads" --size 64 --data "$imagenet" --db "$tmp/heads.sqlite" --cache "$kcache" --batch-size 1 --ks 1
[ "$rc" -eq 0 ] && ! grep -q "reused [1-9]" "$tmp/err"
check "features of $heads heads are not reused for $other_heads heads" $? "$(grep -E "reused|computed" "$tmp/err")"

# SIGKILL during training: the features are all cached, each step pauses
OCTIC_EVAL_PAUSE_MS=300 "$octic" eval linear "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$kdb" \
    --cache "$kcache" --batch-size 1 --cached --epochs 1 --epoch-length 1000 --train-batch 2 >"$tmp/kill.out" 2>"$tmp/kill.err" &
pid=$!
wait_for "$tmp/kill.err" "training"; sleep 0.7
kill -9 $pid
wait $pid 2>/dev/null
grep -q "training" "$tmp/kill.err"; check "killed during training" $?
run "$octic" results check --db "$kdb"
check "database after SIGKILL in training passes integrity_check" $(( rc != 0 ))
[ "$(state_of 3 "$kdb")" = interrupted ]; check "the run killed in training shows as interrupted" $?
run "$octic" eval linear "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$kdb" --cache "$kcache" \
    --batch-size 1 --cached --epochs 1 --epoch-length 3 --train-batch 2
[ "$rc" -eq 0 ] && grep -q "computed 0" "$tmp/err"; check "after the kill in training, every feature is reused" $?

# two processes writing to one database at once
cdb=$tmp/concurrent.sqlite
"$octic" eval knn "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$cdb" --cache "$tmp/c1" --ks 1 >"$tmp/c1.out" 2>&1 &
p1=$!
"$octic" eval linear "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$cdb" --cache "$tmp/c2" --cached --epochs 1 --epoch-length 20 --train-batch 2 >"$tmp/c2.out" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$("$octic" results list --db "$cdb" --format csv | grep -c ',done,')" -eq 2 ]
check "two processes writing one database at once both succeed" $? "$(cat "$tmp/c1.out" "$tmp/c2.out")"

# the feature cache tells data sets apart by their full path and their files:
# the same relative --data in two folders, then an image replaced in place
for d in A B; do mkdir -p "$tmp/same/$d" && cp -r "$imagenet" "$tmp/same/$d/data"; done
first=$(find "$tmp/same/B/data/val" -name '*.JPEG' | sort | head -n 1)
other=$(find "$tmp/same/B/data/val" -name '*.JPEG' | sort | tail -n 1)
scache=$tmp/samecache
octic_abs=$(realpath "$octic")
sdb=$tmp/same.sqlite
(cd "$tmp/same/A" && "$octic_abs" eval knn "$model" --heads "$heads" --size 64 --data data --db "$sdb" \
    --cache "$scache" --ks 1 >"$tmp/sa.out" 2>"$tmp/sa.err")
check "knn on a relative --data in folder A" $? "$(cat "$tmp/sa.err")"
(cd "$tmp/same/B" && "$octic_abs" eval knn "$model" --heads "$heads" --size 64 --data data --db "$sdb" \
    --cache "$scache" --ks 1 >"$tmp/sb.out" 2>"$tmp/sb.err")
[ $? -eq 0 ] && ! grep -q "reused" "$tmp/sb.err"
check "the same relative --data in folder B reuses none of A's features" $? "$(grep reused "$tmp/sb.err")"
(cd "$tmp/same/B" && "$octic_abs" eval knn "$model" --heads "$heads" --size 64 --data data --db "$sdb" \
    --cache "$scache" --ks 1 >"$tmp/sb.out" 2>"$tmp/sb.err")
grep -q "computed 0" "$tmp/sb.err"; check "B again reuses its own features" $? "$(grep reused "$tmp/sb.err")"
cp "$other" "$first"
(cd "$tmp/same/B" && "$octic_abs" eval knn "$model" --heads "$heads" --size 64 --data data --db "$sdb" \
    --cache "$scache" --ks 1 >"$tmp/sb.out" 2>"$tmp/sb.err")
[ $? -eq 0 ] && ! grep -q "reused [0-9]* cached feature chunks, computed 0" "$tmp/sb.err"
check "an image replaced in B: its split's features are computed again" $? "$(grep reused "$tmp/sb.err")"

# Ctrl-C, many times, while the engine runs: the run ends cancelled, and the
# process never crashes. A handler run on an engine thread crashed it about 5
# times in 6 here: oneDNN 2.x's sgemm points the stack pointer into the heap
# while it runs, so the handler's frame overwrote the heap ("corrupted size
# vs. prev_size"); the signals are now taken by a thread of their own.
sigdata=$tmp/sigdata
for c in a b c d; do mkdir -p "$sigdata/train/$c" "$sigdata/val/$c"; done
mapfile -t photos < <(find "$imagenet" "$voc" -iname '*.jp*g' | sort)
for i in $(seq 0 239); do
    c=$(printf 'abcd' | cut -c$((i % 4 + 1)))
    split=train; [ "$i" -ge 200 ] && split=val
    cp "${photos[$((i % ${#photos[@]}))]}" "$sigdata/$split/$c/$i.jpg"
done
basemodel=$golden/dino_baseline_p16/model.pth
for attempt in 1 2 3; do
    sdb2=$tmp/sig$attempt.sqlite
    "$octic" eval knn "$basemodel" --heads "$(heads_of dino_baseline_p16)" --size 224 --batch-size 100 \
        --data "$sigdata" --db "$sdb2" --cache "$tmp/sigcache$attempt" >"$tmp/sig$attempt.out" 2>"$tmp/sig$attempt.err" &
    pid=$!
    wait_for "$tmp/sig$attempt.err" "extracting train"
    for _ in $(seq 60); do kill -INT $pid 2>/dev/null || break; sleep 0.01; done
    wait $pid; src=$?
    [ $src -eq 1 ] && grep -q "octic: run 1 cancelled" "$tmp/sig$attempt.err" && [ "$(state_of 1 "$sdb2")" = cancelled ]
    check "Ctrl-C 60 times during extraction ($attempt): exit 1, run cancelled, no crash" $? \
        "exit $src, state $(state_of 1 "$sdb2"): $(tail -n 2 "$tmp/sig$attempt.err")"
done

# a read-only database: a clear error and no new rows
rdir=$tmp/ro
mkdir -p "$rdir"
cp "$db" "$rdir/results.sqlite"
before=$("$octic" results list --db "$rdir/results.sqlite" --format csv | wc -l)
chmod 555 "$rdir"
chmod 444 "$rdir/results.sqlite"
as_user=()
if [ "$(id -u)" -eq 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
chmod 777 "$tmp/home" 2>/dev/null
run "${as_user[@]}" env HOME="$tmp/home" "$octic" eval knn "$model" --heads "$heads" --size 64 --data "$imagenet" \
    --db "$rdir/results.sqlite" --cache "$tmp/rocache" --ks 1
[ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "results.sqlite: .*read-only\|results.sqlite: .*cannot open" "$tmp/err"
check "a read-only database gives one clear error line" $?
# ...which octic results still reads, as it is
run "${as_user[@]}" env HOME="$tmp/home" "$octic" results list --db "$rdir/results.sqlite" --format csv
[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq "$before" ]
check "octic results lists a database it may not write ($(wc -l <"$tmp/out") lines)" $? "exit $rc"
run "${as_user[@]}" env HOME="$tmp/home" "$octic" results show 1 --db "$rdir/results.sqlite"
[ "$rc" -eq 0 ] && grep -q "top1" "$tmp/out"; check "and shows its runs" $? "exit $rc"
chmod 755 "$rdir"
chmod 644 "$rdir/results.sqlite"
after=$("$octic" results list --db "$rdir/results.sqlite" --format csv | wc -l)
[ "$before" -eq "$after" ]; check "and no rows were written ($before lines before, $after after)" $?

# octic results reads: no default database yet, an empty file, a missing one
mkdir -p "$tmp/home2"
run env HOME="$tmp/home2" "$octic" results list
[ "$rc" -eq 0 ] && grep -q "no runs yet: .* does not exist" "$tmp/out" && [ ! -e "$tmp/home2/.local" ]
check "results list without a default database says so and creates none" $? "$(cat "$tmp/out" "$tmp/err")"
: >"$tmp/empty.sqlite"
run "$octic" results list --db "$tmp/empty.sqlite"
[ "$rc" -eq 1 ] && grep -q "empty.sqlite: an empty file, no results database yet" "$tmp/err" && [ ! -s "$tmp/empty.sqlite" ]
check "an empty file is reported and left empty" $? "$(cat "$tmp/err")"
# a --db in a folder that does not exist (a typo) is refused before any work, and no folder is made
run "$octic" eval knn "$model" --heads "$heads" --size 64 --data "$imagenet" --db "$tmp/no/such/r.sqlite" \
    --cache "$tmp/nocache" --ks 1
[ "$rc" -eq 1 ] && grep -q "r.sqlite: its folder does not exist" "$tmp/err" && [ ! -e "$tmp/no" ] && [ ! -e "$tmp/nocache" ]
check "eval --db in a missing folder is refused, and no folder is created" $? "$(cat "$tmp/err")"

# a full disk (a file size limit): a clear error and no partial rows
fdb=$tmp/full.sqlite
run bash -c "ulimit -f 8; exec \"\$@\"" _ "$octic" eval knn "$model" --heads "$heads" --size 64 --data "$imagenet" \
    --db "$fdb" --cache "$tmp/fcache" --ks 1
[ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -le 2 ] && grep -q "octic: .*\(file size limit\|disk is full\)" "$tmp/err"
check "a file size limit gives a clear error" $?
run "$octic" results check --db "$fdb"
if [ "$rc" -eq 0 ]; then
    check "the database is sound after it" 0
    run "$octic" results export --db "$fdb"
    [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ]; check "and holds no partial results" $?
else # the limit struck before the schema was written: the file holds no table
    grep -q "an empty file, no results database yet" "$tmp/err"
    check "the database is left without tables, which results check reports" $? "$(cat "$tmp/err")"
    sum=$(md5sum <"$fdb")
    run "$octic" results list --db "$fdb"
    [ "$rc" -ne 0 ] && [ "$(md5sum <"$fdb")" = "$sum" ]
    check "and octic results leaves it as it is (no schema written into it)" $?
fi

tap_finish
