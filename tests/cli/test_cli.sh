#!/usr/bin/env bash
# Tests of the `octic` command line, run by meson (protocol TAP).
#
# usage: test_cli.sh OCTIC NPY_TOOL GOLDEN_DIR
#
# Prints one "ok N - name" / "not ok N - name" line per check, a closing plan
# and "# N passed, N failed"; exits non-zero when any check failed.
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 OCTIC NPY_TOOL GOLDEN_DIR" >&2
    exit 2
fi
octic=$1
npy_tool=$2
golden=$3

# shellcheck source=tests/cli/tap.sh
source "$(dirname "$0")/tap.sh"
tap_init octic-cli-test

# json_value KEY FILE: the value of "KEY": ... on its first line in FILE
# (numbers and strings; quotes removed).
json_value() {
    sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" "$2" | head -n 1
}

# within VALUE EXPECTED TOLERANCE [relative]: |VALUE - EXPECTED| <= TOLERANCE
# (times |EXPECTED| when relative).
within() {
    awk -v v="$1" -v e="$2" -v t="$3" -v rel="${4:-}" 'BEGIN {
        if (v == "" || v == "null") exit 1
        d = v - e; if (d < 0) d = -d
        if (rel != "") { m = e < 0 ? -e : e; t = t * m }
        exit !(d <= t)
    }'
}

# Sum of the element counts in a golden tensors.txt, without the training-only
# tensors the loader ignores.
golden_param_count() {
    awk -F'\t' '/^#/ { next }
        $1 ~ /^(mask_token|dino_head\.|ibot_head\.)/ { next }
        { s = $2; gsub(/[][ ]/, "", s); k = split(s, d, ","); p = 1
          for (i = 1; i <= k; i++) p *= d[i]; total += p }
        END { printf "%d\n", total }' "$1"
}

# --- help and version -----------------------------------------------------------

expect_ok "octic --help" "$octic" --help
expect_ok "octic --version" "$octic" --version
if grep -qE '^octic [0-9]+\.[0-9]+\.[0-9]+ \(BLAS: [a-z]+\)$' "$tmp/out"; then
    pass "--version names the version and the BLAS"
else
    fail "--version names the version and the BLAS"
fi
for cmd in info archs forward convert equivariance; do
    expect_ok "octic $cmd --help" "$octic" "$cmd" --help
    if grep -q "^usage: octic $cmd" "$tmp/out"; then
        pass "octic $cmd --help prints its usage"
    else
        fail "octic $cmd --help prints its usage"
    fi
done
expect_ok "octic help forward" "$octic" help forward

# --- the published architectures ------------------------------------------------
# model.md: params (code) in M and GFLOPs at 224 (fvcore: one multiply-add = one
# FLOP). Invariant DeiT III rows: params for power spectrum / polynomial; the
# table lists them with the polynomial invariant of the released checkpoints,
# which the README's GFLOPs describe.
published="\
hybrid_deit_huge_patch14        355.78          102
d8_inv_early_deit_huge_patch14  357.01/362.33   104
hybrid_deit_large_patch16       171.32          38
d8_inv_early_deit_large_patch16 172.11/175.52   39
deit_huge_patch14_LS            632.13          167
deit_large_patch16_LS           304.37          61.6
vit_huge                        630.92          128
hybrid_vit_huge                 354.53          78
vit_huge_inv_early              355.76          78
vit_large                       303.30          62
hybrid_vit_large                170.30          38
vit_large_inv_early             171.08          38"

expect_ok "octic archs" "$octic" archs
if [ "$(grep -cE '(deit|vit)_' "$tmp/out")" -eq 12 ]; then
    pass "octic archs lists the 12 published architectures"
else
    fail "octic archs lists the 12 published architectures"
fi
expect_ok "octic info --list-archs --json" "$octic" info --list-archs --json
# output that cannot be written (a full disk) is an error, not a success with nothing written
if [ -c /dev/full ]; then
    "$octic" archs >/dev/full 2>"$tmp/err"
    frc=$?
    if [ "$frc" -eq 1 ] && grep -q "^octic: writing the output failed: No space left on device" "$tmp/err"; then
        pass "octic archs > /dev/full fails and says why"
    else
        fail "octic archs > /dev/full fails and says why" "exit $frc" "$(cat "$tmp/err")"
    fi
fi

while read -r arch params gflops; do
    run "$octic" info --arch "$arch" --json
    cp "$tmp/out" "$tmp/arch.json"
    if [ "$rc" -ne 0 ]; then
        fail "info --arch $arch --json" "exit status $rc"
        continue
    fi
    expected_params=$params
    case $params in
    */*)
        if [ "$(json_value invariant "$tmp/arch.json")" = polynomial ]; then
            expected_params=${params#*/}
        else
            expected_params=${params%/*}
        fi
        ;;
    esac
    got_params=$(json_value params "$tmp/arch.json")
    got_m=$(awk -v p="$got_params" 'BEGIN { if (p == "") print ""; else printf "%.4f", p / 1e6 }')
    if within "$got_m" "$expected_params" 0.01; then
        pass "$arch: $got_m M parameters (model.md: $expected_params M)"
    else
        fail "$arch: parameters" "got '$got_m' M, model.md says $expected_params M"
    fi
    got_gflops=$(json_value gflops "$tmp/arch.json")
    if within "$got_gflops" "$gflops" 0.03 relative; then
        pass "$arch: $got_gflops GFLOPs (model.md: $gflops)"
    else
        fail "$arch: GFLOPs" "got '$got_gflops', model.md says $gflops (3% allowed)"
    fi
done <<<"$published"

expect_ok "info --arch hybrid_deit_large_patch16 (text)" "$octic" info --arch hybrid_deit_large_patch16
if grep -qE 'heads +16' "$tmp/out" && grep -qE 'parameters +171\.3' "$tmp/out"; then
    pass "the text description shows heads and parameters"
else
    fail "the text description shows heads and parameters"
fi
expect_error "info --arch with an unknown name" "unknown architecture 'no_such_arch' \('octic archs' lists the 12" \
    "$octic" info --arch no_such_arch
expect_error "info --arch with a name in capitals names the one meant" \
    "unknown architecture 'VIT_HUGE'; did you mean 'vit_huge'\?" "$octic" info --arch VIT_HUGE

# --- checkpoints -------------------------------------------------------------------

case_dir="$golden/deit_hybrid_p16"
expect_ok "info on a golden DeiT III hybrid with --heads 2" \
    "$octic" info "$case_dir/model.pth" --heads 2 --json
cp "$tmp/out" "$tmp/info.json"
if [ "$(json_value family "$tmp/info.json")" = deit3 ] &&
    [ "$(json_value kind "$tmp/info.json")" = hybrid ] &&
    [ "$(json_value depth "$tmp/info.json")" = 4 ] &&
    [ "$(json_value heads "$tmp/info.json")" = 2 ] &&
    [ "$(json_value break_layer "$tmp/info.json")" = 2 ] &&
    [ "$(json_value source_key "$tmp/info.json")" = model ]; then
    pass "deit_hybrid_p16: deit3, hybrid, 4 blocks, 2 heads, break 2, state dict under model"
else
    fail "deit_hybrid_p16: family/kind/depth/heads/break/key" "$(tr -d '\n' <"$tmp/info.json")"
fi

expect_ok "info (text) on a golden DINOv2 invariant" \
    "$octic" info "$golden/dino_invariant_p16/model.pth" --heads 2
if grep -qE 'family +dinov2' "$tmp/out" && grep -qE 'kind +invariant' "$tmp/out" &&
    grep -qE 'invariant +power_spectrum' "$tmp/out" && grep -q 'mask_token' "$tmp/out" &&
    grep -qE 'under "teacher"' "$tmp/out"; then
    pass "dino_invariant_p16: dinov2, invariant, power spectrum, mask_token ignored, teacher"
else
    fail "dino_invariant_p16: text description"
fi

# the number of heads of a golden case, from its case.json
heads_of() {
    sed -n 's/.*"num_heads": *\([0-9]*\).*/\1/p' "$golden/$1/case.json"
}

for dir in "$golden"/*/; do
    name=$(basename "$dir")
    run "$octic" info "$dir/model.pth" --heads "$(heads_of "$name")" --json
    got=$(json_value params "$tmp/out")
    want=$(golden_param_count "$dir/tensors.txt")
    want_all=$(json_value params "$dir/case.json")
    if [ "$rc" -eq 0 ] && { [ "$got" = "$want" ] || [ "$got" = "$want_all" ]; }; then
        pass "$name: info counts $got parameters"
    else
        fail "$name: info parameter count" "got '$got', the checkpoint holds $want ($want_all with mask_token)"
    fi
done

expect_error "info without --heads on a small model asks for --heads" '--heads' \
    "$octic" info "$case_dir/model.pth"
# a checkpoint lacking a tensor: said of the file, without a --heads hint when --heads was given
"$npy_tool" drop "$case_dir/model.pth" "$tmp/nopos.safetensors" pos_embed.0
expect_error "info on a checkpoint without its position embedding names the file and the tensor" \
    "$tmp/nopos.safetensors: missing tensor pos_embed.0" "$octic" info "$tmp/nopos.safetensors" --heads 2
if grep -q -- "pass --heads" "$tmp/err"; then fail "and asks for no --heads it was given"; else pass "and asks for no --heads it was given"; fi

# --- forward against the golden outputs ----------------------------------------------

# compare NAME OUT.npy REF.npy LIMIT
compare() {
    run "$npy_tool" maxdiff "$2" "$3" "$4"
    if [ "$rc" -eq 0 ]; then
        pass "$1 ($(cat "$tmp/out"))"
    else
        fail "$1" "above $4 or unreadable"
    fi
}

# forward_case CASE WHAT REFERENCE
forward_case() {
    local dir="$golden/$1" out="$tmp/$1.$2.npy"
    run "$octic" forward "$dir/model.pth" --heads "$(heads_of "$1")" --input "$dir/input.npy" \
        --output "$out" --what "$2"
    if [ "$rc" -ne 0 ]; then
        fail "forward $1 --what $2" "exit status $rc"
        return
    fi
    compare "forward $1 --what $2 matches $3" "$out" "$dir/$3" 1e-4
}

for dir in "$golden"/deit_*/; do
    name=$(basename "$dir")
    forward_case "$name" logits logits.npy
    forward_case "$name" cls features.npy
done
for dir in "$golden"/dino_*/; do
    name=$(basename "$dir")
    forward_case "$name" cls cls.npy
    forward_case "$name" patch patch.npy
    forward_case "$name" prenorm prenorm.npy
done

expect_ok "forward --what block:0" "$octic" forward "$case_dir/model.pth" --heads 2 \
    --input "$case_dir/input.npy" --output "$tmp/block0.npy" --what block:0
expect_ok "forward --what block:4 (after the last block)" "$octic" forward "$case_dir/model.pth" \
    --heads 2 --input "$case_dir/input.npy" --output "$tmp/block4.npy" --what block:4
expect_ok "forward --what prenorm" "$octic" forward "$case_dir/model.pth" --heads 2 \
    --input "$case_dir/input.npy" --output "$tmp/prenorm.npy" --what prenorm
compare "block:4 equals prenorm" "$tmp/block4.npy" "$tmp/prenorm.npy" 0

# --- convert ---------------------------------------------------------------------------

for name in deit_hybrid_p16 dino_invariant_p16; do
    dir="$golden/$name"
    st="$tmp/$name.safetensors"
    expect_ok "convert $name to safetensors" "$octic" convert "$dir/model.pth" "$st" --heads 2
    what=logits
    case $name in dino_*) what=prenorm ;; esac
    expect_ok "forward $name.safetensors without --heads" "$octic" forward "$st" \
        --input "$dir/input.npy" --output "$tmp/$name.st.npy" --what "$what"
    compare "$name: safetensors output identical to the .pth output" \
        "$tmp/$name.st.npy" "$tmp/$name.$what.npy" 0
done
run "$octic" info "$tmp/deit_hybrid_p16.safetensors" --json
if [ "$rc" -eq 0 ] && [ "$(json_value params "$tmp/out")" = "$(json_value params "$tmp/info.json")" ] &&
    [ "$(json_value heads "$tmp/out")" = 2 ]; then
    pass "info on the converted file: same parameters, heads from its metadata"
else
    fail "info on the converted file"
fi

# --- equivariance ------------------------------------------------------------------------

# max_error JSON FILTER: the largest error in the rows of "blocks" matching
# FILTER (a grep pattern), or in "cls_invariance_error" when FILTER is "cls".
max_error() {
    if [ "$2" = cls ]; then
        grep '"cls_invariance_error"' "$1"
    else
        grep '"index"' "$1" | grep -- "$2"
    fi | sed 's/.*\[\(.*\)\].*/\1/' | tr ',' '\n' |
        awk 'BEGIN { m = -1 } NF { if ($1 + 0 > m) m = $1 + 0 } END { print m }'
}

expect_ok "equivariance (table) on deit_hybrid_p16" "$octic" equivariance \
    "$case_dir/model.pth" --heads 2 --input "$case_dir/input.npy"
if grep -q '^embedding' "$tmp/out" && grep -q '^block 3' "$tmp/out" &&
    grep -q '^class token' "$tmp/out" && grep -q 'break' "$tmp/out"; then
    pass "the equivariance table has the embedding, every block, the break and the class token"
else
    fail "the equivariance table rows"
fi

expect_ok "equivariance --json on deit_hybrid_p16" "$octic" equivariance \
    "$case_dir/model.pth" --heads 2 --input "$case_dir/input.npy" --json
cp "$tmp/out" "$tmp/eq_hybrid.json"
worst=$(max_error "$tmp/eq_hybrid.json" '"octic": true')
if within "$worst" 0 1e-4; then
    pass "hybrid: octic blocks equivariant (worst relative error $worst)"
else
    fail "hybrid: octic blocks equivariant" "worst relative error '$worst'"
fi

dir="$golden/deit_invariant_p16"
expect_ok "equivariance --json on deit_invariant_p16" "$octic" equivariance \
    "$dir/model.pth" --heads 2 --input "$dir/input.npy" --json
cp "$tmp/out" "$tmp/eq_inv.json"
worst=$(max_error "$tmp/eq_inv.json" cls)
if within "$worst" 0 1e-4; then
    pass "invariant: class token invariant (worst relative error $worst)"
else
    fail "invariant: class token invariant" "worst relative error '$worst'"
fi

# --- errors: one line "octic: ..." naming the problem ---------------------------------------

head -c 20000 "$case_dir/model.pth" >"$tmp/truncated.pth"
"$npy_tool" float64 "$tmp/float64.npy" 1 3 64 64
"$npy_tool" zeros "$tmp/size40.npy" 1 3 40 40
"$npy_tool" zeros "$tmp/gray.npy" 1 1 64 64
printf 'not a checkpoint at all\n' >"$tmp/garbage.pth"

expect_error "a model file that does not exist" 'no_such_model\.pth' \
    "$octic" info "$tmp/no_such_model.pth" --heads 2
expect_error "a truncated .pth" 'truncated\.pth' \
    "$octic" info "$tmp/truncated.pth" --heads 2
expect_error "a file that is no checkpoint" 'garbage\.pth' \
    "$octic" info "$tmp/garbage.pth" --heads 2
expect_error "forward with a truncated .pth" 'truncated\.pth' \
    "$octic" forward "$tmp/truncated.pth" --heads 2 --input "$case_dir/input.npy" \
    --output "$tmp/x.npy" --what logits
expect_error "a float64 .npy input" 'float64\.npy.*(float32|float64|<f8|f8|dtype)' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$tmp/float64.npy" \
    --output "$tmp/x.npy" --what logits
expect_error "an input that is not [B, 3, S, S]" 'gray\.npy.*\[B, 3, S, S\]' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$tmp/gray.npy" \
    --output "$tmp/x.npy" --what logits
expect_error "an image size the model cannot take (40 x 40, patch 16)" '40' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$tmp/size40.npy" \
    --output "$tmp/x.npy" --what logits
expect_error "equivariance on an image size the model cannot take" '40' \
    "$octic" equivariance "$case_dir/model.pth" --heads 2 --input "$tmp/size40.npy"
expect_error "a missing input file" 'no_such_input\.npy' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$tmp/no_such_input.npy" \
    --output "$tmp/x.npy" --what logits
expect_error "bad --what" "--what expects .*'softmax'" \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$case_dir/input.npy" \
    --output "$tmp/x.npy" --what softmax
expect_error "--what block:N beyond the last block" 'block:9.*4 blocks' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$case_dir/input.npy" \
    --output "$tmp/x.npy" --what block:9
expect_error "--what logits on a backbone without a head" 'no classification head' \
    "$octic" forward "$golden/dino_hybrid_p16/model.pth" --heads 2 \
    --input "$golden/dino_hybrid_p16/input.npy" --output "$tmp/x.npy" --what logits
expect_error "unknown command" "unknown command 'frobnicate'" "$octic" frobnicate
expect_error "no command" "no command given" "$octic"
expect_error "unknown option" "unknown option '--frobnicate'" \
    "$octic" info "$case_dir/model.pth" --frobnicate
expect_error "missing --input" 'missing --input' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --output "$tmp/x.npy" --what logits
expect_error "missing --output" 'missing --output' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$case_dir/input.npy" --what cls
expect_error "missing --what" 'missing --what' \
    "$octic" forward "$case_dir/model.pth" --heads 2 --input "$case_dir/input.npy" \
    --output "$tmp/x.npy"
expect_error "--heads without a value" "'--heads' needs a value" \
    "$octic" info "$case_dir/model.pth" --heads
expect_error "--heads that is not a number" '--heads expects an integer' \
    "$octic" info "$case_dir/model.pth" --heads two
expect_error "convert without an output" 'missing OUT\.safetensors' \
    "$octic" convert "$case_dir/model.pth"
expect_error "convert onto a folder that does not exist" 'no_such_dir' \
    "$octic" convert "$case_dir/model.pth" "$tmp/no_such_dir/out.safetensors" --heads 2
if [ ! -e "$tmp/x.npy" ]; then
    pass "no output file is left behind by a failed forward"
else
    fail "no output file is left behind by a failed forward"
fi

# --- bench -------------------------------------------------------------------------
# A published architecture at a small size (random weights, one short run):
# the figures are there and consistent; speed itself is for benchmarks to say.
expect_ok "octic bench --help" "$octic" bench --help
if grep -q "^usage: octic bench" "$tmp/out"; then
    pass "octic bench --help prints its usage"
else
    fail "octic bench --help prints its usage"
fi
expect_ok "octic bench --json" "$octic" bench --arch hybrid_deit_large_patch16 --compare deit_large_patch16_LS \
    --size 32 --batch 2 --runs 1 --threads 2 --no-sgemm --json
ips=$(json_value images_per_second "$tmp/out")
spb=$(json_value seconds_per_batch "$tmp/out")
gmacs=$(json_value gmacs_per_image "$tmp/out")
if [ "$(grep -c . "$tmp/out")" -eq 1 ] && within "$ips" "$(awk -v s="$spb" 'BEGIN { print 2 / s }')" 1e-3 relative \
    && grep -q '"threads": 2' "$tmp/out" && grep -q '"time_ratio": [0-9]' "$tmp/out" \
    && grep -q '"name": "attention", "ms": [0-9.]*, "gflops"' "$tmp/out"; then
    pass "bench --json: one object, images/s = batch / seconds, a time ratio, the per-op breakdown"
else
    fail "bench --json: one object, images/s = batch / seconds, a time ratio, the per-op breakdown"
fi
eff=$(json_value effective_gflops "$tmp/out")
if [ -n "$gmacs" ] && within "$eff" "$(awk -v g="$gmacs" -v s="$spb" 'BEGIN { print 2 * g * 2 / s }')" 2e-2 relative; then
    pass "bench --json: effective GFLOP/s = 2 x multiply-adds x batch / seconds"
else
    fail "bench --json: effective GFLOP/s = 2 x multiply-adds x batch / seconds" "eff $eff, gmacs $gmacs, s $spb"
fi
steal=$(json_value steal_percent "$tmp/out")
if [ ! -r /proc/stat ] || { [ -n "$steal" ] && awk -v s="$steal" 'BEGIN { exit !(s >= 0 && s <= 100) }'; }; then
    pass "bench --json: the steal time of the timed runs, a percentage (where /proc/stat tells)"
else
    fail "bench --json: the steal time of the timed runs, a percentage (where /proc/stat tells)" "steal '$steal'"
fi
expect_ok "octic bench --json with the sgemm" "$octic" bench --arch hybrid_deit_large_patch16 \
    --compare deit_large_patch16_LS --size 32 --batch 1 --runs 1 --threads 2 --json
sed 's/"compare": {.*//' "$tmp/out" >"$tmp/first" # the first architecture's object
sg=$(json_value sgemm_gflops "$tmp/first")
eff=$(json_value effective_gflops "$tmp/first")
r_all=$(json_value ratio_to_sgemm "$tmp/first")
r_run=$(json_value paired_ratio_to_sgemm "$tmp/first")
spb=$(json_value seconds_per_batch "$tmp/first")
spb_cmp=$(json_value seconds_per_batch "$tmp/out") # the last: the compared architecture's
tr=$(json_value time_ratio "$tmp/out")
if [ -n "$sg" ] && [ -n "$r_run" ] && [ -n "$spb_cmp" ] \
    && within "$r_all" "$(awk -v e="$eff" -v g="$sg" 'BEGIN { print e / g }')" 2e-3 relative \
    && awk -v a="$r_run" -v b="$r_all" 'BEGIN { exit !(a >= b * 0.999) }' \
    && within "$tr" "$(awk -v a="$spb" -v b="$spb_cmp" 'BEGIN { print a / b }')" 2e-3 relative; then
    pass "bench --json: ratio to the best sgemm, run-by-run ratio not below it, time ratio of one run"
else
    fail "bench --json: ratio to the best sgemm, run-by-run ratio not below it, time ratio of one run" \
        "sgemm $sg eff $eff ratio $r_all paired $r_run time ratio $tr ($spb / $spb_cmp)"
fi
# the standard blocks' GELU runs inside fc1's op on the CPU: the JSON says so, and its GELU is 0 ms
gelu_in=$(json_value gelu_in_mlp "$tmp/out")
gelu_cmp=$(sed 's/.*"compare": {//' "$tmp/out" | sed -n 's/.*"name": "GELU", "ms": \([0-9.]*\).*/\1/p')
if [ "$gelu_in" = true ] && [ "$(json_value gelu_in_mlp "$tmp/first")" = true ] && [ "$gelu_cmp" = 0.000 ]; then
    pass "bench --json: gelu_in_mlp says the standard blocks' GELU is counted in the MLP"
else
    fail "bench --json: gelu_in_mlp says the standard blocks' GELU is counted in the MLP" "'$gelu_in', GELU '$gelu_cmp' ms"
fi
sg_med=$(json_value sgemm_median_gflops "$tmp/out")
sg_n=$(json_value sgemm_products "$tmp/out")
# one run: 5 products before it, one before and one after it
if [ "$sg_n" = 7 ] && awk -v m="$sg_med" -v g="$sg" 'BEGIN { exit !(m > 0 && m <= g) }'; then
    pass "bench --json: the median of the 7 sgemm products, above 0 and not above the best"
else
    fail "bench --json: the median of the 7 sgemm products, above 0 and not above the best" \
        "median '$sg_med' of '$sg_n' products, best '$sg'"
fi
expect_error "bench of an unknown architecture" "unknown architecture 'vit_tiny' \('octic archs'" "$octic" bench --arch vit_tiny
expect_error "bench of a mistyped architecture names the one meant" \
    "unknown architecture 'hybrid_deit_large_patch61'; did you mean 'hybrid_deit_large_patch16'\?" \
    "$octic" bench --arch hybrid_deit_large_patch61
expect_error "bench --compare of a shortened name names the one meant" \
    "unknown architecture 'deit_large'; did you mean 'deit_large_patch16_LS'\?" \
    "$octic" bench --arch vit_large --compare deit_large
expect_error "bench at a size the model cannot take" "--size 40" \
    "$octic" bench --arch hybrid_deit_large_patch16 --size 40 --runs 1 --no-sgemm
expect_error "bench without --arch" "missing --arch" "$octic" bench

# --- --device ------------------------------------------------------------------------

dir="$golden/deit_hybrid_p16"
expect_ok "forward --device cpu" "$octic" forward "$dir/model.pth" --heads 2 --input "$dir/input.npy" \
    --output "$tmp/device-cpu.npy" --what logits --device cpu
compare "forward --device cpu matches logits.npy" "$tmp/device-cpu.npy" "$dir/logits.npy" 1e-4
# with a GPU: nothing on stderr; without one: one notice, and the CPU
run "$octic" forward "$dir/model.pth" --heads 2 --input "$dir/input.npy" --output "$tmp/device-cuda.npy" \
    --what logits --device cuda
if [ "$rc" -eq 0 ] && { [ ! -s "$tmp/err" ] || { [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
    grep -qE '^octic: CUDA is not available: .*; running on the CPU$' "$tmp/err"; }; }; then
    pass "forward --device cuda: runs on the GPU, or on the CPU after a one-line notice"
else
    fail "forward --device cuda: runs on the GPU, or on the CPU after a one-line notice" "exit status $rc"
fi
compare "forward --device cuda matches logits.npy" "$tmp/device-cuda.npy" "$dir/logits.npy" 1e-4
expect_error "forward --device of an unknown name" "unknown device 'tpu'" \
    "$octic" forward "$dir/model.pth" --heads 2 --input "$dir/input.npy" --output "$tmp/x.npy" --what logits \
    --device tpu
expect_error "equivariance --device of an unknown name" "unknown device 'gpu0'" \
    "$octic" equivariance "$dir/model.pth" --heads 2 --input "$dir/input.npy" --device gpu0
expect_error "bench --precision bfloat16 on the CPU" "bfloat16 runs on the CUDA backend only" \
    "$octic" bench --arch hybrid_deit_large_patch16 --device cpu --precision bfloat16 --no-sgemm
expect_error "bench --precision of an unknown name" "--precision expects float32 or bfloat16" \
    "$octic" bench --arch hybrid_deit_large_patch16 --precision half

tap_finish
