# CPACK_PRE_BUILD_SCRIPTS of the .deb (cmake/Packaging.cmake): CPack runs this after installing
# into its staging directory and before dpkg-shlibdeps, md5sums and the archive, so the package
# holds what Debian policy and lintian ask of one, while `cmake --install` stays a plain install:
#   - man pages compressed with gzip -9n (no name or time stamp: reproducible);
#   - usr/share/doc/taskpoller/copyright (cmake/debian/copyright, machine-readable) and
#     changelog.gz (cmake/debian/changelog: the package is native, policy 12.7);
#   - usr/share/lintian/overrides/taskpoller (cmake/debian/lintian-overrides);
#   - no .comment section in the (already stripped) binaries, as dh_strip does.
# Variables: CPACK_TEMPORARY_INSTALL_DIRECTORY (the staging root), CPACK_PACKAGING_INSTALL_PREFIX,
# CPACK_TASKPOLLER_DEBIAN_DIR, CPACK_TASKPOLLER_OBJCOPY (set in cmake/Packaging.cmake).
cmake_minimum_required(VERSION 3.25)

set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
set(prefix "${root}${CPACK_PACKAGING_INSTALL_PREFIX}")
set(debian "${CPACK_TASKPOLLER_DEBIAN_DIR}")
if(NOT IS_DIRECTORY "${prefix}/share/man" OR NOT IS_DIRECTORY "${debian}")
  message(FATAL_ERROR "prebuild.cmake: no ${prefix}/share/man or ${debian}; is this the DEB staging tree?")
endif()
find_program(GZIP gzip REQUIRED)

# gzip_to SRC DEST: DEST = gzip -9n SRC, mode 0644.
function(gzip_to src dest)
  execute_process(COMMAND "${GZIP}" -9nc "${src}" OUTPUT_FILE "${dest}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${src}: ${rc}")
  endif()
  file(CHMOD "${dest}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endfunction()

file(GLOB man_pages "${prefix}/share/man/man*/*")
foreach(page IN LISTS man_pages)
  if(NOT page MATCHES "\\.gz$")
    gzip_to("${page}" "${page}.gz")
    file(REMOVE "${page}")
  endif()
endforeach()

set(doc "${prefix}/share/doc/${CPACK_PACKAGE_NAME}")
file(MAKE_DIRECTORY "${doc}")
file(COPY_FILE "${debian}/copyright" "${doc}/copyright")
file(CHMOD "${doc}/copyright" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
gzip_to("${debian}/changelog" "${doc}/changelog.gz")

set(overrides "${prefix}/share/lintian/overrides")
file(MAKE_DIRECTORY "${overrides}")
file(COPY_FILE "${debian}/lintian-overrides" "${overrides}/${CPACK_PACKAGE_NAME}")
file(CHMOD "${overrides}/${CPACK_PACKAGE_NAME}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

file(GLOB binaries "${prefix}/bin/*")
foreach(bin IN LISTS binaries)
  execute_process(COMMAND "${CPACK_TASKPOLLER_OBJCOPY}" --remove-section=.comment "${bin}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "objcopy --remove-section=.comment ${bin}: ${rc}")
  endif()
endforeach()
