# The OpenAPI document's one source is src/api/openapi.yaml. scripts/openapi/embed.mjs turns it
# into JSON (${CDN_OPENAPI_JSON}, read by the tests) and into a header that
# src/api/openapi/document.cpp embeds; both are rebuilt when the YAML changes. Node is already a
# build requirement (deps/libvips comes from npm), and scripts/openapi pins the YAML parser and
# the linter (package-lock.json).
find_program(NODE_EXECUTABLE node REQUIRED)
find_program(NPM_EXECUTABLE npm REQUIRED)

set(CDN_OPENAPI_TOOLS ${CMAKE_SOURCE_DIR}/scripts/openapi)
set(CDN_OPENAPI_SOURCE ${CMAKE_SOURCE_DIR}/src/api/openapi.yaml CACHE INTERNAL "")
set(CDN_OPENAPI_JSON ${CMAKE_BINARY_DIR}/openapi/openapi.json CACHE INTERNAL "")

include(Npm)
cdn_npm_ci(${CDN_OPENAPI_TOOLS})
set(CDN_OPENAPI_NPM_INSTALLED ${NPM_INSTALLED})

# cdn_embed_openapi(target): `target` compiles document.cpp, which includes the generated
# header "openapi_json.h".
function(cdn_embed_openapi target)
  set(out_dir ${CMAKE_BINARY_DIR}/openapi)
  add_custom_command(
    OUTPUT ${CDN_OPENAPI_JSON} ${out_dir}/openapi_json.h
    COMMAND ${NODE_EXECUTABLE} ${CDN_OPENAPI_TOOLS}/embed.mjs ${CDN_OPENAPI_SOURCE}
            ${CDN_OPENAPI_JSON} ${out_dir}/openapi_json.h
    DEPENDS ${CDN_OPENAPI_SOURCE} ${CDN_OPENAPI_TOOLS}/embed.mjs ${CDN_OPENAPI_NPM_INSTALLED}
    COMMENT "openapi: src/api/openapi.yaml -> openapi.json, openapi_json.h"
    VERBATIM)
  target_sources(${target} PRIVATE ${out_dir}/openapi_json.h)
  target_include_directories(${target} PRIVATE ${out_dir})
endfunction()
