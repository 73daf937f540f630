# Embeds every file under web/ into the binary: at build time, cmake/embed_assets.cmake
# writes gantry_web_assets.cc (a table of path, content type and bytes) that src/server's
# dashboard handler serves. Nothing is downloaded; the assets are plain files in web/.
file(GLOB_RECURSE GANTRY_WEB_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/*)
set(GANTRY_WEB_CC ${PROJECT_BINARY_DIR}/generated/gantry_web_assets.cc)
add_custom_command(
  OUTPUT ${GANTRY_WEB_CC}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${PROJECT_SOURCE_DIR}/web -DOUT=${GANTRY_WEB_CC}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_assets.cmake
  DEPENDS ${GANTRY_WEB_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_assets.cmake
  COMMENT "Embedding dashboard assets from web/")
target_sources(gantry_core PRIVATE ${GANTRY_WEB_CC})
