# cdn_module(name SOURCES ... DEPS ...): one static library per module of docs/architecture.md.
# DEPS lists exactly the modules of its row in the table (the CTest `layering` checks that)
# plus third-party targets.
#
# A module compiles against its own include root, ${CMAKE_BINARY_DIR}/include_roots/<name>:
# one symbolic link per module it may use (itself and core included) to src/<module>. A header
# of any other module is not found, so a wrong edge fails to compile even when it is header-only
# and nothing would fail at link time. The root is private: linking cdn_<dep> gives a module no
# include directory of ours, so it cannot see what its dependencies may use either. Targets that
# are not modules (the executable, the tests) see all of src/ through the INTERFACE include below,
# which applies only to consumers without the CDN_MODULE property.
function(cdn_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  set(visible ${name} core)
  foreach(dep IN LISTS M_DEPS)
    if(dep MATCHES "^cdn_([a-z]+)$" AND IS_DIRECTORY ${CMAKE_SOURCE_DIR}/src/${CMAKE_MATCH_1})
      list(APPEND visible ${CMAKE_MATCH_1})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES visible)
  set(root ${CMAKE_BINARY_DIR}/include_roots/${name})
  cdn_include_root(${root} ${visible})

  add_library(cdn_${name} STATIC ${M_SOURCES})
  set_target_properties(cdn_${name} PROPERTIES CDN_MODULE ON)
  target_include_directories(cdn_${name}
    PRIVATE ${root}
    INTERFACE $<$<NOT:$<BOOL:$<TARGET_PROPERTY:CDN_MODULE>>>:${CMAKE_SOURCE_DIR}/src>)
  target_link_libraries(cdn_${name} PUBLIC ${M_DEPS} PRIVATE cdn_warnings)
endfunction()

# cdn_include_root(root modules...): makes `root` hold exactly one link per module, to its
# folder under src/. Links left by an earlier configure are removed (the link, not its target).
function(cdn_include_root root)
  file(MAKE_DIRECTORY ${root})
  file(GLOB stale LIST_DIRECTORIES true ${root}/*)
  if(stale)
    file(REMOVE ${stale})
  endif()
  foreach(module IN LISTS ARGN)
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/src/${module} ${root}/${module} SYMBOLIC)
  endforeach()
endfunction()
