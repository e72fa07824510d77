find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS json)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
# The PostgreSQL backend (db/postgres_*.cpp): libpq from Debian's libpq-dev.
find_package(PostgreSQL REQUIRED)
# Stripe's API (billing/stripe_client.cpp).
find_package(CURL REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# HEIC and JPEG XL input, which the npm libvips lacks (decoded in transform/foreign_decoders.cpp).
pkg_check_modules(HEIF REQUIRED IMPORTED_TARGET libheif)
pkg_check_modules(JXL REQUIRED IMPORTED_TARGET libjxl)

# libvips: the build sharp ships, pinned in deps/libvips/package-lock.json (see docs/adr/0001).
set(VIPS_NPM_DIR ${CMAKE_SOURCE_DIR}/deps/libvips/node_modules/@img)
file(GLOB VIPS_SO ${VIPS_NPM_DIR}/sharp-libvips-linux-x64/lib/libvips-cpp.so.*)
if(NOT VIPS_SO)
  message(FATAL_ERROR "libvips from npm not found: run `npm ci --prefix deps/libvips` (scripts/setup.sh does)")
endif()
add_library(vips::vips SHARED IMPORTED GLOBAL)
set_target_properties(vips::vips PROPERTIES
  IMPORTED_LOCATION ${VIPS_SO}
  IMPORTED_NO_SONAME FALSE
  INTERFACE_INCLUDE_DIRECTORIES
    "${VIPS_NPM_DIR}/sharp-libvips-dev/include;${VIPS_NPM_DIR}/sharp-libvips-dev/include/glib-2.0;${VIPS_NPM_DIR}/sharp-libvips-linux-x64/lib/glib-2.0/include")
get_filename_component(VIPS_LIB_DIR ${VIPS_SO} DIRECTORY)
set(CMAKE_BUILD_RPATH ${VIPS_LIB_DIR})
set(CMAKE_INSTALL_RPATH ${VIPS_LIB_DIR})
