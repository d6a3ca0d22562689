-- http_hello.lua: an HTTP/1.1 "Hello, World!" server for benchmarks, in the callback form.
--   moonport examples/http_hello.lua [port] [host]    (default 8080 127.0.0.1; port 0 picks one)
-- Prints "listening on HOST PORT". Keeps connections alive, answers pipelined
-- requests in order (all the answers to one read go out in one write), closes
-- on "Connection: close" and after HTTP/1.0 requests unless they ask for
-- keep-alive; 431 for a header over 8 KiB, 400 for anything not HTTP/1.x.
-- Request bodies (Content-Length) are read and ignored.
local mp = require "moonport"

local port_arg, host_arg = ...
local port = math.tointeger(tonumber(port_arg or 8080))
local host = host_arg or "127.0.0.1"
if not port then
  io.stderr:write("usage: moonport http_hello.lua [port] [host]\n")
  os.exit(2)
end

local MAX_HEADER = 8192 -- bytes from the request line to the blank line, both included
local LINGER_MS = 2000 -- how long a closing connection may keep sending before we close

local find, match, sub, lower, format = string.find, string.match, string.sub, string.lower, string.format

local function response(status, body, connection)
  return format("HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s",
    status, #body, connection and "Connection: " .. connection .. "\r\n" or "", body)
end
local HELLO = "Hello, World!"
local OK_11 = response("200 OK", HELLO) -- HTTP/1.1 keeps the connection by default
local OK_10 = response("200 OK", HELLO, "keep-alive") -- HTTP/1.0 must be told
local OK_CLOSE = response("200 OK", HELLO, "close")
local BAD = response("400 Bad Request", "Bad Request\n", "close")
local TOO_LARGE = response("431 Request Header Fields Too Large", "Request header too large\n", "close")
local NOT_IMPLEMENTED = response("501 Not Implemented", "Transfer-Encoding is not supported\n", "close")

-- A pattern matching "\r\nNAME:" in any letter case, and capturing the value.
local function header_pattern(name)
  local p = name:gsub("%a", function(ch) return "[" .. ch:upper() .. ch:lower() .. "]" end)
  return "\r\n" .. p:gsub("%-", "%%-") .. ":[ \t]*([^\r]*)"
end
local CONNECTION = header_pattern("connection")
local CONTENT_LENGTH = header_pattern("content-length")
local TRANSFER_ENCODING = header_pattern("transfer-encoding")

-- Parse the request header starting at pos. Returns the answer, the
-- position after the header, the body length, and whether to close after
-- answering; or nil while the header is incomplete.
local function parse(data, pos)
  local last = find(data, "\r\n\r\n", pos, true)
  if not last or last + 3 - pos >= MAX_HEADER then
    -- Incomplete (or too long): judge what has come so far.
    if find(data, "\n", pos, true) and not find(data, "^%u+ %S+ HTTP/1%.[01]\r\n", pos) then
      return BAD, 0, 0, true
    elseif #data - pos + 1 > MAX_HEADER then
      return TOO_LARGE, 0, 0, true
    end
    return nil
  end
  local minor = match(data, "^%u+ %S+ HTTP/1%.([01])\r\n", pos)
  if not minor then
    return BAD, 0, 0, true
  end
  -- The header lines, each as "\r\nName: value", to look fields up in.
  local fields = sub(data, pos, last + 1)
  if find(fields, TRANSFER_ENCODING) then
    return NOT_IMPLEMENTED, 0, 0, true
  end
  local body = 0
  local length = match(fields, CONTENT_LENGTH)
  if length then
    body = math.tointeger(tonumber(match(length, "^%d+$")))
    if not body then
      return BAD, 0, 0, true
    end
  end
  local connection = match(fields, CONNECTION)
  connection = connection and lower(connection)
  local after = last + 4
  if connection and find(connection, "close", 1, true) then
    return OK_CLOSE, after, body, true
  elseif minor == "1" then
    return OK_11, after, body, false
  elseif connection and find(connection, "keep-alive", 1, true) then
    return OK_10, after, body, false
  end
  return OK_CLOSE, after, body, true
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
