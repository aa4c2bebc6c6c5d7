# Install layout (issue 6). Included from the top-level CMakeLists.txt after every target exists.
#
#   <prefix>/bin/taskpollerd, taskpollerctl        (taskpoller-sim only with TASKPOLLER_INSTALL_SIM)
#   <prefix>/lib/systemd/system/taskpollerd{,@}.{service,socket}
#   <prefix>/lib/sysusers.d/taskpoller.conf, <prefix>/lib/tmpfiles.d/taskpoller.conf
#   <sysconfdir>/taskpoller/taskpoller.yaml       (/etc when the prefix is /usr)
#   <prefix>/share/doc/taskpoller/, <prefix>/share/man/man{1,5,8}/
#   <prefix>/share/{bash-completion/completions,zsh/vendor-completions,fish/vendor_completions.d}/
#
# The default prefix is /usr, not /usr/local: the package and the systemd units describe a system
# service, and GNUInstallDirs maps sysconfdir to /etc only for the /usr prefix.
# A build tree configured before this file existed has /usr/local cached: move it once, too. An
# explicit prefix given on any later configure is respected.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT OR
   (CMAKE_INSTALL_PREFIX STREQUAL "/usr/local" AND NOT DEFINED CACHE{TASKPOLLER_PREFIX_DEFAULTED}))
  set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH "Install prefix" FORCE)
  message(STATUS "taskpoller: install prefix /usr (system service); -DCMAKE_INSTALL_PREFIX=... to change")
endif()
set(TASKPOLLER_PREFIX_DEFAULTED ON CACHE INTERNAL "")
include(GNUInstallDirs)

option(TASKPOLLER_INSTALL_SIM "Also install taskpoller-sim, the API 2.0 simulator (a test tool)" OFF)

set(TASKPOLLER_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "systemd system unit directory, relative to the prefix")
set(TASKPOLLER_SYSUSERSDIR "lib/sysusers.d" CACHE STRING "sysusers.d directory, relative to the prefix")
set(TASKPOLLER_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING "tmpfiles.d directory, relative to the prefix")
set(TASKPOLLER_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/taskpoller")

# Binaries. taskpollerd exists once daemon/main.cpp does; ctl/CMakeLists.txt also installs
# taskpollerctl to bin (the same file, harmless).
foreach(tgt taskpollerd taskpollerctl)
  if(TARGET ${tgt})
    install(TARGETS ${tgt} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT taskpoller)
  endif()
endforeach()
if(TASKPOLLER_INSTALL_SIM AND TARGET taskpoller-sim)
  install(TARGETS taskpoller-sim RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT taskpoller)
endif()

# systemd units name /usr/bin/taskpollerd, /usr/bin/taskpollerctl and files in /etc/taskpoller. For
# another prefix the installed copies point at the real bin and configuration directories; for
# /usr they are byte-identical to systemd/.
set(_tp_units taskpollerd.service taskpollerd.socket taskpollerd@.service taskpollerd@.socket)
foreach(unit ${_tp_units})
  set(src "${PROJECT_SOURCE_DIR}/systemd/${unit}")
  file(READ "${src}" text)
  string(REPLACE "/usr/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" text "${text}")
  string(REPLACE "/etc/taskpoller/" "${TASKPOLLER_CONFDIR}/" text "${text}")
  file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/systemd/${unit}" CONTENT "${text}")
  set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}")
  install(FILES "${PROJECT_BINARY_DIR}/systemd/${unit}"
          DESTINATION "${TASKPOLLER_SYSTEMD_UNITDIR}" COMPONENT taskpoller)
endforeach()
install(FILES "${PROJECT_SOURCE_DIR}/systemd/taskpoller.sysusers.conf"
        DESTINATION "${TASKPOLLER_SYSUSERSDIR}" RENAME taskpoller.conf COMPONENT taskpoller)
install(FILES "${PROJECT_SOURCE_DIR}/systemd/taskpoller.tmpfiles.conf"
        DESTINATION "${TASKPOLLER_TMPFILESDIR}" RENAME taskpoller.conf COMPONENT taskpoller)

# The example configuration loads as-is (cloud.region set; credentials from systemd). In the
# .deb it is a conffile (cmake/Packaging.cmake), so local edits survive upgrades.
install(FILES "${PROJECT_SOURCE_DIR}/config/taskpoller.yaml"
        DESTINATION "${TASKPOLLER_CONFDIR}" COMPONENT taskpoller)

# Shell completion for taskpollerctl, generated from its own command definitions at build time
# (`taskpollerctl completion bash|zsh|fish`), so it cannot drift from the program.
if(TARGET taskpollerctl)
  set(_tp_completions "${PROJECT_BINARY_DIR}/completions")
  add_custom_command(
    OUTPUT "${_tp_completions}/taskpollerctl" "${_tp_completions}/_taskpollerctl"
           "${_tp_completions}/taskpollerctl.fish"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${_tp_completions}"
    COMMAND taskpollerctl completion bash > "${_tp_completions}/taskpollerctl"
    COMMAND taskpollerctl completion zsh > "${_tp_completions}/_taskpollerctl"
    COMMAND taskpollerctl completion fish > "${_tp_completions}/taskpollerctl.fish"
    DEPENDS taskpollerctl
    COMMENT "Generating taskpollerctl's shell completion scripts"
    VERBATIM)
  add_custom_target(taskpollerctl_completions ALL
    DEPENDS "${_tp_completions}/taskpollerctl" "${_tp_completions}/_taskpollerctl"
            "${_tp_completions}/taskpollerctl.fish")
  install(FILES "${_tp_completions}/taskpollerctl"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" COMPONENT taskpoller)
  install(FILES "${_tp_completions}/_taskpollerctl"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" COMPONENT taskpoller)
  install(FILES "${_tp_completions}/taskpollerctl.fish"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d" COMPONENT taskpoller)
endif()

# Documentation and man pages.
file(GLOB _tp_docs CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/*.md")
install(FILES "${PROJECT_SOURCE_DIR}/README.md" ${_tp_docs}
        DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT taskpoller)
foreach(section 1 5 8)
  file(GLOB _tp_man CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/man/*.${section}")
  if(_tp_man)
    install(FILES ${_tp_man} DESTINATION "${CMAKE_INSTALL_MANDIR}/man${section}" COMPONENT taskpoller)
  endif()
endforeach()
