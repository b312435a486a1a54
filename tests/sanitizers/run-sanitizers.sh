#!/bin/sh
# The whole test suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (GCC), in build-sanitize/: out-of-bounds and use-after-free accesses,
# leaks and undefined behaviour (overflow, misaligned or null accesses, bad
# shifts) make the test that hit them fail.
#
#   tests/sanitizers/run-sanitizers.sh [meson test arguments, e.g. a test name]
#
# Another build folder: SANITIZE_BUILD=/path. Takes about 3 minutes to build
# and 2 to run on 2 cores (the forward passes are several times slower).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
build="${SANITIZE_BUILD:-$root/build-sanitize}"
cd "$root"

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Db_sanitize=address,undefined -Dbuildtype=debugoptimized
fi
ninja -C "$build"

# halt_on_error: a UBSan finding fails its test instead of printing and going on.
# The suppressions name only libraries outside the project (see the file).
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0" \
    exec meson test -C "$build" --print-errorlogs "$@"
