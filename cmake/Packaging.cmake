# CPack: one Debian package, "taskpoller" (issue 6). Build it with
#   cmake --build build && cpack --config build/CPackConfig.cmake -G DEB
# Included from the top-level CMakeLists.txt after cmake/Install.cmake.
set(CPACK_PACKAGE_NAME "taskpoller")
set(CPACK_PACKAGE_VENDOR "taskpoller")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Tencent Cloud API 2.0 async task tracker (daemon and CLI)")
# The extended description: lines of at most 80 columns (lintian's
# extended-description-line-too-long; CPack indents each by one space).
set(CPACK_PACKAGE_DESCRIPTION
    "taskpollerd submits batch asynchronous operations to Tencent Cloud API 2.0,
records every requestId, polls each task until it finishes and serves the
results over a local Unix socket (HTTP/1.1 + JSON). taskpollerctl is its
command-line client. The package ships hardened systemd units (socket
activation, watchdog, credentials), sysusers.d and tmpfiles.d snippets, an
example configuration and the man pages taskpollerd(8), taskpollerctl(1) and
taskpoller.yaml(5).")
# No maintainer is named anywhere in the project: a role address under the reserved .invalid
# domain (RFC 2606), not a host that lintian rejects (bogus-mail-host).
set(CPACK_PACKAGE_CONTACT "taskpoller maintainers <maintainers@taskpoller.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR "DEB")
# Only the package generator; no source tarball of the work tree.
set(CPACK_SOURCE_GENERATOR "")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # taskpoller_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Runtime libraries are derived from the binaries by dpkg-shlibdeps (libboost-json, libspdlog,
# libfmt, libyaml-cpp, libssl3, libsystemd0, libstdc++6, libc6 on Debian 12). libpq5 joins them by
# itself once taskpollerd calls lib/ledger's PostgreSQL code (issue 19); until then Debian's GCC
# links --as-needed and taskpollerd does not need it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps has been seen to leave libspdlog out for taskpollerd here; name it explicitly
# (CPack joins this list with the derived one).
# The postinst creates the system user with systemd-sysusers (no adduser): the alternatives are
# the Depends that dh_installsysusers adds.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libspdlog1.10, systemd | systemd-standalone-sysusers | systemd-sysusers")
# The units need systemd; the binaries do not.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_LIST_DIR}/debian/conffiles"
    "${CMAKE_CURRENT_LIST_DIR}/debian/postinst"
    "${CMAKE_CURRENT_LIST_DIR}/debian/prerm"
    "${CMAKE_CURRENT_LIST_DIR}/debian/postrm")
# Scripts 0755, conffiles 0644, whatever the modes in the source tree.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# What a Debian package has beyond `cmake --install` (compressed man pages, copyright, changelog,
# lintian overrides, no .comment sections): added to CPack's staging tree by this script, so the
# .deb passes lintian without errors or warnings (issue 18; tests/packaging: packaging_lintian).
set(CPACK_PRE_BUILD_SCRIPTS "${CMAKE_CURRENT_LIST_DIR}/debian/prebuild.cmake")
set(CPACK_TASKPOLLER_DEBIAN_DIR "${CMAKE_CURRENT_LIST_DIR}/debian")
set(CPACK_TASKPOLLER_OBJCOPY "${CMAKE_OBJCOPY}")

include(CPack)
