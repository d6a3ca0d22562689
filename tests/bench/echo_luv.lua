-- echo_luv.lua: the luv (libuv) echo server of tests/bench/echo.sh, run by a
-- stock lua5.4: the way luv users write one (bind, listen, accept,
-- read_start, write what was read).
--   lua5.4 tests/bench/echo_luv.lua PORT [HOST]   (HOST default 127.0.0.1; PORT 0 = any)
-- Prints "listening on HOST PORT" (the real port) once it accepts; runs until killed.
-- Like most luv echo servers it does not stop reading while writes are queued: the
-- benchmark's clients bound what is in flight, so the queue stays small here.
-- Default socket options (no TCP_NODELAY), like echo_raw.c and examples/echo_server.lua.
local uv = require "luv"

local port = math.tointeger(tonumber(arg[1])) or error("usage: echo_luv.lua PORT [HOST]")
local host = arg[2] or "127.0.0.1"

local server = uv.new_tcp()
assert(server:bind(host, port))
assert(server:listen(511, function(err)
  if err then
    io.stderr:write("echo_luv: listen: ", err, "\n")
    return
  end
  local client = uv.new_tcp()
  local ok, aerr = server:accept(client)
  if not ok then
    io.stderr:write("echo_luv: accept: ", tostring(aerr), "\n")
    client:close()
    return
  end
  client:read_start(function(rerr, data)
    if rerr or not data then -- error or EOF
      client:close()
      return
    end
    client:write(data)
  end)
end))

local addr = server:getsockname()
io.stdout:write(string.format("listening on %s %d\n", addr.ip, addr.port))
io.stdout:flush()
uv.run()
