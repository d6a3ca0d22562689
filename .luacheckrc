-- luacheck configuration: Lua 5.4; luaunit test classes are globals.
std = "lua54"
max_line_length = 110
files["tests/lua"] = { globals = { "TestTimer", "TestErrors", "TestLoop", "TestCoro", "TestTcp",
  "TestTcpWrite", "TestTcpFaults", "TestTcpEmfile", "TestTcpCoro",
  "TestFs", "TestFsCoro",
  "TestUdp", "TestUdpCoro",
  "TestDns", "TestSignal", "TestHttpRequest", "TestTcpHostile", "TestTimerChurn" }, ignore = { "212/self" } }
files["tests/bench"] = { read_globals = { "arg" } }
files["examples/cmodule/tests"] = { globals = { "TestCModule" }, ignore = { "212/self" } }
