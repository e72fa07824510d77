# cdn_npm_ci(folder): `npm ci` in `folder` (pinned by its package-lock.json) as a build step that
# runs only when node_modules is missing or the lock file changed: npm writes
# node_modules/.package-lock.json on every install. Sets NPM_INSTALLED (in the caller's scope)
# to that file, for the commands that need the packages to depend on.
find_program(NPM_EXECUTABLE npm)

function(cdn_npm_ci folder)
  set(installed ${folder}/node_modules/.package-lock.json)
  add_custom_command(
    OUTPUT ${installed}
    COMMAND ${NPM_EXECUTABLE} ci --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${installed}
    DEPENDS ${folder}/package.json ${folder}/package-lock.json
    WORKING_DIRECTORY ${folder}
    COMMENT "npm ci in ${folder}"
    VERBATIM)
  set(NPM_INSTALLED ${installed} PARENT_SCOPE)
endfunction()
