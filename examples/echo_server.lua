-- echo_server.lua: a TCP echo server in the callback form, with flow control.
--   moonport examples/echo_server.lua [port] [host]    (default 7000 127.0.0.1; port 0 picks one)
-- Prints "listening on HOST PORT" once it listens, then sends back every byte
-- each client sends, until the client closes its side.
local mp = require "moonport"

local port_arg, host_arg = ...
local port = math.tointeger(tonumber(port_arg or 7000))
local host = host_arg or "127.0.0.1"
if not port then
  io.stderr:write("usage: moonport echo_server.lua [port] [host]\n")
  os.exit(2)
end

-- One closure per connection and nothing per message: the read callback
-- writes what came in and, when the peer reads slower than it sends (the
-- write queue is at high water), stops reading until the queue drains, so
-- a connection never holds more than about high_water bytes. The drain
-- callback is made only when the queue fills: an idle connection costs
-- one closure and two upvalues, no more.
local function serve(conn)
  local function on_read(err, data)
    if data then
      local ok = conn:write(data)
      if ok == false then
        conn:read_stop()
        conn:on_drain(function() conn:read_start(on_read) end)
      elseif ok == nil then -- closed, or over write_limit: nothing more to do here
        conn:close()
      end
    elseif err then
      conn:close()
    else
      -- EOF: send what is still queued, then close.
      conn:shutdown(function() conn:close() end)
    end
  end
  conn:read_start(on_read)
end

local server, err = mp.tcp.listen(host, port, function(err, conn)
  if err then -- out of descriptors: the server pauses accepting and resumes by itself
    io.stderr:write("echo_server: accept: ", err, "\n")
    return
  end
  serve(conn)
end)
if not server then
  io.stderr:write("echo_server: cannot listen on ", host, " port ", port, ": ", err, "\n")
  os.exit(1)
end

print(string.format("listening on %s %d", server:address()))
io.stdout:flush()
