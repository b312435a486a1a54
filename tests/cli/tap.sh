# The TAP harness shared by the command-line test scripts (sourced, not run).
#
# tap_init NAME makes $tmp (removed on exit); then each check prints
# "ok N - name" or "not ok N - name" (details on stderr, which meson shows
# for a failed test), and tap_finish prints the plan and "# N passed, N failed"
# and returns non-zero when any check failed.

tap_init() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    chmod 755 "$tmp"
    # u+w first: some tests leave read-only folders behind
    trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
    n=0
    passed=0
    failed=0
}

pass() {
    n=$((n + 1)); passed=$((passed + 1))
    echo "ok $n - $1"
}

# fail NAME [DETAIL...]: the details and the last command's output on stderr.
fail() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    {
        echo "not ok $n - $1"
        shift
        local line
        for line in "$@"; do echo "    $line"; done
        if [ -s "$tmp/out" ]; then sed -n '1,20s/^/    stdout: /p' "$tmp/out"; fi
        if [ -s "$tmp/err" ]; then sed -n '1,20s/^/    stderr: /p' "$tmp/err"; fi
    } >&2
}

# run CMD...: runs with stdout in $tmp/out, stderr in $tmp/err, status in $rc.
run() {
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# check NAME STATUS [DETAIL]: passes when STATUS (of a condition) is 0.
check() {
    if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "${3:-}"; fi
}

# expect_ok NAME CMD...: exit 0, nothing on stderr.
expect_ok() {
    local name=$1
    shift
    run "$@"
    if [ "$rc" -ne 0 ]; then
        fail "$name" "exit status $rc, expected 0: $*"
    elif [ -s "$tmp/err" ]; then
        fail "$name" "unexpected output on stderr: $*"
    else
        pass "$name"
    fi
}

# expect_error NAME PATTERN CMD...: a non-zero exit (not a signal) and exactly
# one line on stderr, "octic: ..." matching the extended regular expression
# PATTERN.
expect_error() {
    local name=$1 pattern=$2
    shift 2
    run "$@"
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -eq 0 ]; then
        fail "$name" "exit status 0, expected an error: $*"
    elif [ "$rc" -ge 128 ]; then
        fail "$name" "killed by signal $((rc - 128)): $*"
    elif [ "$lines" -ne 1 ]; then
        fail "$name" "expected exactly one line on stderr, got $lines: $*"
    elif ! grep -q '^octic: ' "$tmp/err"; then
        fail "$name" "the error line does not start with 'octic: '"
    elif ! grep -qE -- "$pattern" "$tmp/err"; then
        fail "$name" "the error line does not match /$pattern/"
    else
        pass "$name"
    fi
}

tap_finish() {
    echo "1..$n"
    echo "# $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
