# Every module gets the same warnings; warnings are errors on our own code.
add_library(cdn_warnings INTERFACE)
target_compile_options(cdn_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers
  # GCC 12 reports false -Wrestrict on std::string at -O3 (GCC bug 105329).
  -Wno-restrict)
if(SANITIZE)
  target_compile_options(cdn_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(cdn_warnings INTERFACE -fsanitize=address,undefined)
endif()
