# Every module gets the same warnings; warnings are errors on our own code.
add_library(cdn_warnings INTERFACE)
target_compile_options(cdn_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers
  # GCC 12 reports false -Wrestrict on std::string at -O3 (GCC bug 105329).
  -Wno-restrict)
if(SANITIZE)
  target_compile_options(cdn_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(cdn_warnings INTERFACE -fsanitize=address,undefined)
endif()

# cdn_module(name SOURCES ... DEPS ...): one static library per module; DEPS is
# exactly the layering table of docs/architecture.md, so a wrong edge is a link error.
function(cdn_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(cdn_${name} STATIC ${M_SOURCES})
  target_include_directories(cdn_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(cdn_${name} PUBLIC ${M_DEPS} PRIVATE cdn_warnings)
endfunction()
