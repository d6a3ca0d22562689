-- http_hello.lua: an HTTP/1.1 "Hello, World!" server for benchmarks, in the callback form.
--   moonport examples/http_hello.lua [port] [host]    (default 8080 127.0.0.1; port 0 picks one)
-- Prints "listening on HOST PORT". Keeps connections alive, answers pipelined
-- requests in order (all the answers to one read go out in one write), closes
-- on "Connection: close" and after HTTP/1.0 requests unless they ask for
-- keep-alive; 431 for a header over 8 KiB, 413 for a body over 1 GiB, 400
-- for anything not HTTP/1.x; http_request.lua parses the requests.
-- Request bodies (Content-Length) are read and ignored.
local mp = require "moonport"

-- http_request.lua lives next to this script.
local dir = (debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./")
package.path = dir .. "?.lua;" .. package.path
local request = require "http_request"

local port_arg, host_arg = ...
local port = math.tointeger(tonumber(port_arg or 8080))
local host = host_arg or "127.0.0.1"
if not port then
  io.stderr:write("usage: moonport http_hello.lua [port] [host]\n")
  os.exit(2)
end

local LINGER_MS = 2000 -- how long a closing connection may keep sending before we close

local sub, format = string.sub, string.format

local function response(status, body, connection)
  return format("HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s",
    status, #body, connection and "Connection: " .. connection .. "\r\n" or "", body)
end
local HELLO = "Hello, World!"
local OK_11 = response("200 OK", HELLO) -- HTTP/1.1 keeps the connection by default
local OK_10 = response("200 OK", HELLO, "keep-alive") -- HTTP/1.0 must be told
local OK_CLOSE = response("200 OK", HELLO, "close")
local REFUSALS = {
  [400] = response("400 Bad Request", "Bad Request\n", "close"),
  [413] = response("413 Content Too Large", "Request body too large\n", "close"),
  [431] = response("431 Request Header Fields Too Large", "Request header too large\n", "close"),
  [501] = response("501 Not Implemented", "Transfer-Encoding is not supported\n", "close"),
}

-- Judge the request header starting at pos (http_request.lua). Returns the
-- answer, the position after the header, the body length, and whether to
-- close after answering; or nil while the header is incomplete.
local function parse(data, pos)
  local status, after, body, close, minor = request.parse(data, pos)
  if status ~= 200 then
    return status and REFUSALS[status], after, body, close
  end
  return close and OK_CLOSE or minor == 1 and OK_11 or OK_10, after, body, close
end

local function serve(conn)
  local pending -- the start of a request that a later read completes
  local skip = 0 -- body bytes still to come, to be ignored
  local closing = false -- answered for the last time: discard input, close soon
  local sent, eof = false, false -- while closing: our side is shut down; the peer's is
  local paused = false -- reading stopped until the write queue drains

  -- After the last answer: send it and a FIN, but go on reading (and
  -- discarding) until the peer closes too, or for LINGER_MS at most.
  -- Closing with unread input would reset the connection, and the reset
  -- could destroy the answer before the client reads it.
  local function close_gently()
    closing = true
    conn:shutdown(function()
      sent = true
      if eof then
        conn:close()
      end
    end)
    mp.timer(LINGER_MS, function() conn:close() end)
  end

  -- Answer every complete request in data, all in one write.
  local function on_read(err, data)
    if not data then -- EOF or error
      eof = true
      if err or sent then
        conn:close()
      elseif not closing then -- finish sending what is queued, then close
        conn:shutdown(function() conn:close() end)
      end
      return
    end
    if closing then
      return
    end
    if pending then
      data = pending .. data
      pending = nil
    end
    local pos, size = 1, #data
    if skip > 0 then
      if skip >= size then
        skip = skip - size
        return
      end
      pos, skip = skip + 1, 0
    end
    local out, n = nil, 0 -- the answers: one string, or an array of several
    local last_answer = false -- the connection closes after these answers
    while pos <= size do
      local answer, after, body, close = parse(data, pos)
      if not answer then
        pending = pos == 1 and data or sub(data, pos)
        break
      end
      n = n + 1
      if n == 1 then
        out = answer
      elseif n == 2 then
        out = { out, answer }
      else
        out[n] = answer
      end
      if close then
        last_answer = true
        break
      end
      pos = after + body
      if pos > size + 1 then -- the body goes on in later reads
        skip, pos = pos - size - 1, size + 1
      end
    end
    if n == 0 then
      return
    end
    local ok = conn:write(out)
    if ok == nil then
      conn:close()
    elseif last_answer then
      close_gently()
    elseif ok == false then -- the client sends faster than it reads: wait for the drain
      paused = true
      conn:read_stop()
    end
  end

  conn:on_drain(function()
    if paused then
      paused = false
      conn:read_start(on_read)
    end
  end)
  conn:read_start(on_read)
end

local server, err = mp.tcp.listen(host, port, function(err, conn)
  if err then -- out of descriptors: the server pauses accepting and resumes by itself
    io.stderr:write("http_hello: accept: ", err, "\n")
    return
  end
  serve(conn)
end)
if not server then
  io.stderr:write("http_hello: cannot listen on ", host, " port ", port, ": ", err, "\n")
  os.exit(1)
end

print(format("listening on %s %d", server:address()))
io.stdout:flush()
