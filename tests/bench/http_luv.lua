-- http_luv.lua: a minimal keep-alive HTTP "hello" server on luv, the
-- reference for examples/http_hello.lua in tests/bench/echo.sh (wrk load).
--   lua5.4 tests/bench/http_luv.lua PORT [HOST]   (HOST default 127.0.0.1; PORT 0 = any)
-- Prints "listening on HOST PORT" once it accepts; runs until killed.
-- Just enough HTTP for wrk: one fixed response per request head (a blank line
-- ends each head; pipelined heads get one response each); request bodies are
-- not supported. A head longer than MAX_HEAD closes the connection.
local uv = require "luv"

local port = math.tointeger(tonumber(arg[1])) or error("usage: http_luv.lua PORT [HOST]")
local host = arg[2] or "127.0.0.1"
local MAX_HEAD = 8192
local BODY = "Hello, World!" -- the same bytes as examples/http_hello.lua
local RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " .. #BODY
  .. "\r\n\r\n" .. BODY

local function serve(client)
  local buf = ""
  client:read_start(function(err, data)
    if err or not data then
      client:close()
      return
    end
    buf = buf .. data
    -- Count the complete heads in buf; keep what follows the last one.
    local heads, pos = 0, 1
    while true do
      local _, stop = buf:find("\r\n\r\n", pos, true)
      if not stop then break end
      heads, pos = heads + 1, stop + 1
    end
    buf = buf:sub(pos)
    if #buf > MAX_HEAD then
      client:close()
      return
    end
    if heads > 0 then client:write(string.rep(RESPONSE, heads)) end
  end)
end

local server = uv.new_tcp()
assert(server:bind(host, port))
assert(server:listen(511, function(err)
  if err then
    io.stderr:write("http_luv: listen: ", err, "\n")
    return
  end
  local client = uv.new_tcp()
  if server:accept(client) then
    serve(client)
  else
    client:close()
  end
end))

local addr = server:getsockname()
io.stdout:write(string.format("listening on %s %d\n", addr.ip, addr.port))
io.stdout:flush()
uv.run()
