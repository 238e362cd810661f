# packaging/package.cmake: install layout and the Debian package (CPack DEB).
#
# Layout, Metricbeat's, with the binary and read-only data under the install
# prefix (/usr in the package) and the rest at fixed system paths:
#   <prefix>/bin/expvarbeat
#   <prefix>/share/expvarbeat/{mappings,kibana}/   (path.home; the binary
#       embeds both, these copies are for people and other tools)
#   <prefix>/lib/systemd/system/expvarbeat.service
#   /etc/expvarbeat/{expvarbeat.yml,expvarbeat.reference.yml,modules.d/}
#   /var/lib/expvarbeat, /var/log/expvarbeat   (made by postinst / the unit)
#
# `cpack -G DEB` in the build directory writes expvarbeat_<version>_<arch>.deb
# there: Depends computed by dpkg-shlibdeps, every /etc file a conffile, a
# stripped binary, and maintainer scripts that create the `expvarbeat` user
# and enable (not start) the unit.

include(GNUInstallDirs)

# `cmake --install` and cpack package what was built and tested instead of
# building the whole tree (tests, tools) again first: build, then install.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(_pkg_dir ${CMAKE_CURRENT_LIST_DIR})
set(_pkg_etc /etc/expvarbeat)
set(_pkg_conf_perms OWNER_READ OWNER_WRITE GROUP_READ) # 0640: may hold credentials

install(TARGETS expvarbeat RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES ${_pkg_dir}/expvarbeat.yml ${CMAKE_SOURCE_DIR}/conf/expvarbeat.reference.yml
        DESTINATION ${_pkg_etc} PERMISSIONS ${_pkg_conf_perms})
install(FILES ${CMAKE_SOURCE_DIR}/conf/modules.d/golang.yml.disabled
        DESTINATION ${_pkg_etc}/modules.d PERMISSIONS ${_pkg_conf_perms})

install(FILES ${CMAKE_SOURCE_DIR}/mappings/fields.yml ${CMAKE_SOURCE_DIR}/mappings/ilm-policy.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/expvarbeat/mappings)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/kibana/ DESTINATION ${CMAKE_INSTALL_DATADIR}/expvarbeat/kibana
        FILES_MATCHING PATTERN "*.ndjson")
# The index template as `setup --index-management` loads it, for people who
# manage templates themselves; written by the installed binary's own
# `export template` (without a config: the defaults).
install(CODE "
  set(_tpl \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/expvarbeat/mappings/expvarbeat-${PROJECT_VERSION}.json\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${_tpl}\")
  execute_process(COMMAND \"$<TARGET_FILE:expvarbeat>\" export template -c /dev/null
                  OUTPUT_FILE \"\$ENV{DESTDIR}\${_tpl}\" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR \"expvarbeat export template failed: \${_rc}\")
  endif()
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${_tpl}\")
")

# The unit names the binary and path.home, which depend on the prefix of this
# install (cpack installs with /usr, `cmake --install` with its own), so it is
# written at install time.
set(_pkg_unit_dir lib/systemd/system)
install(CODE "
  set(EXPVARBEAT_BIN \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/expvarbeat\")
  set(EXPVARBEAT_HOME \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/expvarbeat\")
  set(_unit \"\${CMAKE_INSTALL_PREFIX}/${_pkg_unit_dir}/expvarbeat.service\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${_unit}\")
  configure_file(\"${_pkg_dir}/expvarbeat.service.in\" \"\$ENV{DESTDIR}\${_unit}\" @ONLY)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${_unit}\")
")

# ---- Debian package ----------------------------------------------------------

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME expvarbeat)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "expvarbeat maintainers <expvarbeat@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Go expvar metrics shipper compatible with Metricbeat's golang module")
set(CPACK_PACKAGE_DESCRIPTION
    "expvarbeat polls the /debug/vars endpoint of Go programs and ships
golang.expvar and golang.heap documents, field for field as Metricbeat's
golang module writes them, to Elasticsearch, Kafka, files or the console.
It is a small C daemon with one event loop.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # expvarbeat_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# useradd/userdel/groupdel in the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")

set(_pkg_conffiles "")
foreach(_f expvarbeat.yml expvarbeat.reference.yml modules.d/golang.yml.disabled)
  string(APPEND _pkg_conffiles "${_pkg_etc}/${_f}\n")
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/packaging/conffiles "${_pkg_conffiles}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/packaging/conffiles ${_pkg_dir}/postinst ${_pkg_dir}/prerm
    ${_pkg_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
