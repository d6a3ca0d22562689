-- chat_server.lua: a line-based chat room over TCP, in the callback form.
--   moonport examples/chat_server.lua [port] [host]    (default 7001 127.0.0.1; port 0 picks one)
-- Prints "listening on HOST PORT". Try it with two terminals running
-- `nc 127.0.0.1 7001`: each line a client sends goes to every other client
-- as "user1: line"; joins and leaves are announced as "* user1 joined".
local mp = require "moonport"

local port_arg, host_arg = ...
local port = math.tointeger(tonumber(port_arg or 7001))
local host = host_arg or "127.0.0.1"
if not port then
  io.stderr:write("usage: moonport chat_server.lua [port] [host]\n")
  os.exit(2)
end

local MAX_LINE = 4096 -- bytes in one line; a longer one gets its sender disconnected
local HIGH_WATER = 64 * 1024 -- a client whose queue reaches this is "behind"
local WRITE_LIMIT = 1024 * 1024 -- a message that would queue past this drops its receiver
local BEHIND_MS = 10000 -- a client behind for this long is dropped
local LINGER_MS = 2000 -- how long a kicked client may keep sending before we close

local find, sub, byte, format = string.find, string.sub, string.byte, string.format

-- Everyone in the room: client -> true. A client is
-- { conn = connection, name = "user7", partial = start of a line or nil,
--   behind = timer while its queue is over high water, gone = true once it left,
--   and after a farewell: sent = its side is shut down, eof = the peer's is }.
local clients = {}
local joined = 0

local leave

-- Send msg to every client but `from`. Memory stays bounded: a receiver
-- whose queue would pass WRITE_LIMIT is dropped, one that stays over
-- HIGH_WATER for BEHIND_MS is dropped by its timer. Drops happen after the
-- loop, since each one is announced with a broadcast of its own.
local function broadcast(msg, from)
  local dropped
  for c in pairs(clients) do
    if c ~= from then
      local ok = c.conn:write(msg)
      if ok == nil then
        dropped = dropped or {}
        dropped[#dropped + 1] = c
      elseif ok == false and not c.behind then
        c.behind = mp.timer(BEHIND_MS, function() leave(c, " (too slow)") end)
      end
    end
  end
  if dropped then
    for _, c in ipairs(dropped) do
      leave(c, " (too slow)")
    end
  end
end

-- Take c out of the room and announce it. With a farewell, c is told why,
-- then its side is shut down; the connection closes once the peer has
-- closed its side too (its reader discards input meanwhile), or after
-- LINGER_MS: closing with unread input would reset the connection, and the
-- reset could destroy the farewell before the client reads it.
function leave(c, note, farewell)
  if c.gone then
    return
  end
  c.gone = true
  clients[c] = nil
  if c.behind then
    c.behind:stop()
  end
  local conn = c.conn
  if farewell then
    conn:write(farewell)
    conn:shutdown(function()
      c.sent = true
      if c.eof then
        conn:close()
      end
    end)
    mp.timer(LINGER_MS, function() conn:close() end)
  else
    conn:close()
  end
  broadcast(format("* %s left%s\n", c.name, note))
end

-- Complete lines in data go to the room; the rest waits in c.partial.
local function on_data(c, data)
  if c.partial then
    data = c.partial .. data
    c.partial = nil
  end
  local pos = 1
  while true do
    local nl = find(data, "\n", pos, true)
    if not nl then
      break
    end
    local last = nl - 1
    if last >= pos and byte(data, last) == 13 then -- "\r\n"
      last = last - 1
    end
    if last - pos + 1 > MAX_LINE then
      return leave(c, " (line too long)", format("* line too long (max %d bytes), goodbye\n", MAX_LINE))
    end
    if last >= pos then
      broadcast(format("%s: %s\n", c.name, sub(data, pos, last)), c)
    end
    pos = nl + 1
  end
  local rest = #data - pos + 1
  if rest > MAX_LINE + 1 then -- + 1: room for the "\r" of a "\r\n" still to come
    return leave(c, " (line too long)", format("* line too long (max %d bytes), goodbye\n", MAX_LINE))
  end
  if rest > 0 then
    c.partial = sub(data, pos)
  end
end

local function join(conn)
  joined = joined + 1
  local c = { conn = conn, name = "user" .. joined }
  conn:read_start(function(err, data)
    if c.gone then -- kicked and lingering: discard input until the peer closes
      if not data then
        c.eof = true
        if err or c.sent then
          conn:close()
        end
      end
    elseif data then
      on_data(c, data)
    else
      leave(c, err and format(" (%s)", err) or "")
    end
  end)
  conn:on_drain(function()
    if c.behind then
      c.behind:stop()
      c.behind = nil
    end
  end)
  local names = {}
  for other in pairs(clients) do
    names[#names + 1] = other.name
  end
  table.sort(names)
  local here = #names > 0 and table.concat(names, ", ") or "nobody yet"
  conn:write(format("* you are %s; here: %s\n", c.name, here))
  broadcast(format("* %s joined\n", c.name))
  clients[c] = true
end

local options = { high_water = HIGH_WATER, write_limit = WRITE_LIMIT,
                  write_timeout = 30000 } -- a connection whose queue makes no progress is closed
local server, err = mp.tcp.listen(host, port, function(err, conn)
  if err then -- out of descriptors: the server pauses accepting and resumes by itself
    io.stderr:write("chat_server: accept: ", err, "\n")
    return
  end
  join(conn)
end, options)
if not server then
  io.stderr:write("chat_server: cannot listen on ", host, " port ", port, ": ", err, "\n")
  os.exit(1)
end

print(format("listening on %s %d", server:address()))
io.stdout:flush()
