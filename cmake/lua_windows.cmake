# lua_windows.cmake: Lua built the way Windows users get it, as the "mingw"
# target of Lua's own makefile builds it: the core and the standard libraries
# in lua54.dll, and the stock interpreter lua.exe (src/lua.c) linked against
# it. moonport.exe, moonport/core.dll and C modules link lua54.dll too, so
# that one Lua serves the process, whichever program loads the modules.
#
# LUA_BUILD_AS_DLL makes luaconf.h mark Lua's API (LUA_API, LUALIB_API,
# LUAMOD_API) __declspec(dllexport) in Lua's own files, which define LUA_CORE
# or LUA_LIB, and __declspec(dllimport) everywhere else: it is PUBLIC so that
# everything that includes lua.h and links lua54 gets the imports.
#
# In: lua_sources (Lua's src/*.c but lua.c and luac.c), MOONPORT_LUA_INCLUDE.
# Out: the targets lua54 and lua_interpreter; MOONPORT_LUA_LIBS and
# MOONPORT_MODULE_LUA (both lua54).
add_library(lua54 SHARED ${lua_sources})
target_include_directories(lua54 PUBLIC "${MOONPORT_LUA_INCLUDE}")
target_compile_definitions(lua54 PUBLIC LUA_BUILD_AS_DLL)
target_compile_options(lua54 PRIVATE -w)
# The makefile's name, lua54.dll (CMake's default would be liblua54.dll); the
# import library stays liblua54.dll.a (lua54.lib with MSVC), so that
# "-llua54" finds it.
set_target_properties(lua54 PROPERTIES PREFIX "")

add_executable(lua_interpreter "${MOONPORT_LUA_INCLUDE}/lua.c")
target_link_libraries(lua_interpreter PRIVATE lua54)
target_compile_options(lua_interpreter PRIVATE -w)
set_target_properties(lua_interpreter PROPERTIES OUTPUT_NAME lua)

set(MOONPORT_LUA_LIBS lua54)
set(MOONPORT_MODULE_LUA lua54)

# As Lua's makefile installs them: programs and the DLL in bin/, the headers
# a C module needs in include/; and the import library in lib/.
install(TARGETS lua54 lua_interpreter RUNTIME DESTINATION bin ARCHIVE DESTINATION lib)
install(FILES
  "${MOONPORT_LUA_INCLUDE}/lua.h" "${MOONPORT_LUA_INCLUDE}/luaconf.h"
  "${MOONPORT_LUA_INCLUDE}/lualib.h" "${MOONPORT_LUA_INCLUDE}/lauxlib.h"
  "${MOONPORT_LUA_INCLUDE}/lua.hpp"
  DESTINATION include)
