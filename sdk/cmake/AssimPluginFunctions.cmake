# assim_add_plugin(<name> SOURCES <files...> [LIBRARIES <targets...>])
#
# Builds the shared library libassim_<name>.so that the host `assim` loads at
# run time. Used in this source tree and, through find_package(AssimSDK), by
# plugins built out of tree. Symbols are hidden except the two the ABI needs.
function(assim_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE AssimSDK::sdk ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    OUTPUT_NAME "assim_${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # A missing symbol must fail when the plugin is linked, not when it is loaded.
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  if(ASSIM_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ASSIM_PLUGIN_OUTPUT_DIR}")
  endif()
  if(ASSIM_PLUGIN_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION "${ASSIM_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
