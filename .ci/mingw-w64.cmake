# mingw-w64.cmake: cross-compile moonport for 64-bit Windows with mingw-w64 and
# run its programs (try_run, ctest) under Wine through .ci/wine-run.
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=.ci/mingw-w64.cmake \
#         -DMOONPORT_LUA_SOURCE_DIR=build-win/lua-src   (see .ci/windows)
#
# Debian's gcc-mingw-w64-x86-64 package; either thread model (the -posix or
# -win32 alternative) works, as moonport uses Win32 threads directly.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MOONPORT_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${MOONPORT_MINGW_TRIPLE}-gcc)
set(CMAKE_RC_COMPILER ${MOONPORT_MINGW_TRIPLE}-windres)
# ar, ranlib and the rest are found by CMake from the compiler's prefix.

# Headers and libraries come from the mingw sysroot only; programs (code
# generators, pkg-config) from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${MOONPORT_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs each test program as "<emulator> program.exe args...".
set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/wine-run)
