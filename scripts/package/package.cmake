# The Debian package, `make package` (CPack's DEB generator): ocspgate_<version>_amd64.deb with
# the binary, /etc/ocspgate/ocspgate.toml (a conffile), the systemd unit and ocspgate(8).
# Configure with -DCMAKE_INSTALL_PREFIX=/usr; maintainer scripts are in scripts/package/debian/.

# Debian 12 packages still ship units under /lib (the usr-merge moratorium), and man pages
# gzip'ed without a timestamp (gzip -9n), so that rebuilds are byte-identical.
set(OCSPGATE_MAN_PAGE ${CMAKE_CURRENT_BINARY_DIR}/ocspgate.8.gz)
add_custom_command(OUTPUT ${OCSPGATE_MAN_PAGE}
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/docs/ocspgate.8 > ${OCSPGATE_MAN_PAGE}
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/ocspgate.8 VERBATIM)
add_custom_target(man_page ALL DEPENDS ${OCSPGATE_MAN_PAGE})

# `cmake --install build --prefix P` puts everything under P: P/bin/ocspgate,
# P/share/man/man8/ocspgate.8.gz, P/etc/ocspgate/ocspgate.toml, P/lib/systemd/system/ocspgate.service.
# `make package` (prefix /usr) sets the two directories Debian wants outside /usr:
# /etc/ocspgate and Debian 12's /lib/systemd/system.
include(GNUInstallDirs)
set(OCSPGATE_CONFIG_DIR ${CMAKE_INSTALL_SYSCONFDIR}/ocspgate CACHE STRING
    "Where the example configuration goes (relative: under the install prefix)")
set(OCSPGATE_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
    "Where the systemd unit goes (relative: under the install prefix)")
install(FILES ${OCSPGATE_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${PROJECT_SOURCE_DIR}/conf/ocspgate.toml DESTINATION ${OCSPGATE_CONFIG_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/conf/ocspgate.service DESTINATION ${OCSPGATE_SYSTEMD_UNIT_DIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ocspgate)
set(CPACK_PACKAGE_VENDOR "ocspgate")
set(CPACK_PACKAGE_CONTACT "ocspgate maintainers <ocspgate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "TLS front for SIP and LDAP with inline OCSP/CRL revocation checks")
set(CPACK_PACKAGE_DESCRIPTION "ocspgate checks every client certificate for revocation inside the TLS \
handshake (OCSP with a shared cache, CRL fallback) and forwards only permitted connections to the \
legacy SIP or LDAP server behind it. A revoked certificate gets the certificate_revoked alert.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)                 # ocspgate_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)                  # libssl3, libuv1, ... from the binary
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")     # postinst: the user; the unit: /bin/kill
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/scripts/package/debian/conffiles
  ${PROJECT_SOURCE_DIR}/scripts/package/debian/postinst
  ${PROJECT_SOURCE_DIR}/scripts/package/debian/prerm
  ${PROJECT_SOURCE_DIR}/scripts/package/debian/postrm)
set(CPACK_STRIP_FILES ON)
include(CPack)
