#!/usr/bin/env bash
# Sets up, builds and runs every test; ends with one "N passed, N failed" line.
#   scripts/test.sh              Release build in build/ (the README's command)
#   scripts/test.sh --sanitize   the same suite built with clang, ASan and UBSan in build-asan/
#                                (docs/testing.md, Sanitizers); the integration tests start
#                                the sanitized imagecdn. Extra arguments go to ctest (-R, -L).
set -uo pipefail
cd "$(dirname "$0")/.."

sanitize=0
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=1
  shift
fi

# configure_asan: build-asan/ with Debian's clang. -O0: on this 2-core machine compile time,
# not test time, is what the sanitized run is short of (the suite waits on processes and on the
# npm libvips, which is optimised anyway); line tables, not full debug info, give reports their
# file:line at a fraction of -g's compile and link time; assertions stay on (no NDEBUG).
configure_asan() {
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -gline-tables-only" -DSANITIZE=ON "${launcher[@]}" >/dev/null
}

# The runtime options of the sanitizers, inherited by every test and every imagecdn it starts.
# Any report fails the test; what is suppressed (only inside the npm libvips) and why is in
# tests/sanitizers/*.supp.
export_sanitizer_options() {
  local supp=$PWD/tests/sanitizers
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=0"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
}

if [ "$sanitize" -eq 1 ]; then
  SETUP_BUILD=0 scripts/setup.sh || { echo "0 passed, 1 failed (setup failed)"; exit 1; }
  configure_asan || { echo "0 passed, 1 failed (configuring build-asan failed)"; exit 1; }
  nice -n 10 cmake --build build-asan -j "$(nproc)" \
    || { echo "0 passed, 1 failed (sanitized build failed)"; exit 1; }
  export_sanitizer_options
  build_dir=build-asan
  timeout=900 # tests without a limit of their own: 3 times the usual 300 s, as tests/CMakeLists.txt
else
  scripts/setup.sh || { echo "0 passed, 1 failed (setup or build failed)"; exit 1; }
  build_dir=build
  timeout=300
fi

log=$(mktemp)
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout "$timeout" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
total=$(grep -Eo 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
failed=$(grep -Eo '[0-9]+ tests failed out of' "$log" | grep -Eo '^[0-9]+' || echo 0)
rm -f "$log"
if [ "$total" -eq 0 ]; then
  echo "0 passed, 1 failed (no tests ran)"
  exit 1
fi
echo "$((total - failed)) passed, ${failed} failed"
exit "$status"
