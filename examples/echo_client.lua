-- echo_client.lua: a TCP client in the coroutine form, for echo_server.lua.
--   moonport examples/echo_client.lua [port] [host] [line...]   (default 7000 127.0.0.1)
-- Sends each line (default: three greetings), prints each echoed line, and
-- exits 0; exits 1 with a message on stderr when anything fails.
local mp = require "moonport"

local port_arg, host_arg = ...
local port = math.tointeger(tonumber(port_arg or 7000))
local host = host_arg or "127.0.0.1"
if not port then
  io.stderr:write("usage: moonport echo_client.lua [port] [host] [line...]\n")
  os.exit(2)
end
local lines = { select(3, ...) }
if #lines == 0 then
  lines = { "hello", "from moonport", "goodbye" }
end

local failure -- the message to exit with, if something went wrong
mp.on_error(function(message) failure = message end)

mp.spawn(function()
  local sock, err = mp.tcp.connect(host, port, { timeout = 5000 })
  if not sock then
    failure = string.format("cannot connect to %s port %d: %s", host, port, err)
    return
  end
  for _, line in ipairs(lines) do
    local ok, werr = sock:write(line .. "\n")
    if not ok then
      failure = "write failed: " .. werr
      break
    end
    local echoed, rerr = sock:read_line()
    if not echoed then
      failure = "read failed: " .. rerr
      break
    end
    print(echoed)
  end
  sock:close()
end)

mp.run()
if failure then
  io.stderr:write("echo_client: ", failure, "\n")
  os.exit(1)
end
