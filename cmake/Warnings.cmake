# Every module gets the same warnings; warnings are errors on our own code.
add_library(cdn_warnings INTERFACE)
target_compile_options(cdn_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers
  # GCC 12 reports false -Wrestrict on std::string at -O3 (GCC bug 105329); clang has no such
  # warning (the fuzz build is clang's).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
# -fno-sanitize-recover: a UBSan report fails the run like an ASan one, instead of scrolling by.
# Shared by the sanitizer build of the tests and the fuzz build (BUILD_FUZZERS), with g++ or clang.
if(SANITIZE)
  target_compile_options(cdn_warnings INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(cdn_warnings INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=all)
  # clang 14's function-type check (-fsanitize=function, part of "undefined") cannot compile
  # C++20 coroutines: "Cannot represent a difference across sections" on every co_await
  # function (LLVM issue 49689, fixed after 14). Only that one check is left out.
  target_compile_options(cdn_warnings INTERFACE $<$<CXX_COMPILER_ID:Clang>:-fno-sanitize=function>)
endif()
# Coverage instrumentation of every module for libFuzzer; the fuzz targets link its main.
if(BUILD_FUZZERS)
  target_compile_options(cdn_warnings INTERFACE -fsanitize=fuzzer-no-link)
endif()
