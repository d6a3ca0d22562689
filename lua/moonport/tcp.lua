-- tcp.lua: the coroutine form of TCP, in the style of OpenResty's cosockets,
-- on top of the C callback form. One handle serves both forms: a call with a
-- callback is the C form, the same call without one (inside mp.spawn)
-- waits and returns `value` or `nil, err` (reads: `nil, err, partial`).
-- read, write, shutdown and accept stay the C methods, which hand a call
-- without a callback to the waiting versions registered here (so the
-- callback form pays nothing for this layer); read_line and the other
-- waiting-only methods are added to the connections' methods.
local core = require "moonport.core"
local coro = require "moonport.coro"

local step, current = coro.step, coro.current
local running, yield = coroutine.running, coroutine.yield
local find, sub, byte = string.find, string.sub, string.byte
local concat = table.concat
local tointeger = math.tointeger

local core_tcp = core.tcp
local conn_methods, server_methods = core_tcp.conn_methods, core_tcp.server_methods

-- The C calls this file builds on, with their callbacks.
local C = {
  connect = core_tcp.connect,
  read = conn_methods.read,
  write = conn_methods.write,
  shutdown = conn_methods.shutdown,
  set_timeouts = conn_methods.set_timeouts,
  accept = server_methods.accept,
}

local DEFAULT_MAX = 8192 -- read_line and read_until: longest data before the delimiter
local CR = byte("\r")

local TOO_LONG = {} -- find_delim's answer when the delimiter is too far

-- The coroutine form's error: OpenResty's "timeout" for ETIMEDOUT, else the
-- C layer's "ENAME: message". code is the C layer's name, when it gave one.
local function failure(err, code)
  if (code or err:match("^(%u+):")) == "ETIMEDOUT" then
    return "timeout"
  end
  return err
end

-- Raise "bad argument #n to 'name' (detail)" at level, as error() counts
-- it from the caller of arg_error.
local function arg_error(level, n, name, detail)
  error("bad argument #" .. n .. " to '" .. name .. "' (" .. detail .. ")", level + 1)
end

-- Per-handle state of the coroutine form, dropped with the handle (the keys
-- are weak). Invariants: the receive buffer is chunks[first..last], of
-- which chunks[first] starts at byte off; size is the number of bytes it
-- holds; eof is true once the peer's end was read. waiter is the coroutine
-- waiting for the handle's pending read (or accept) callback, which is
-- wake; the C layer calls it exactly once, also when the handle is closed
-- (ECANCELED). While a coroutine waits, no other may read the handle: the
-- buffer is its own until it returns.
local states = setmetatable({}, { __mode = "k" })

local function state(handle)
  local st = states[handle]
  if not st then
    st = { chunks = {}, first = 1, last = 0, off = 1, size = 0, eof = false, waiter = nil }
    function st.wake(...)
      local co = st.waiter
      st.waiter = nil
      step(co, ...)
    end
    states[handle] = st
  end
  return st
end

-- Remove the first n buffered bytes (n <= size) and return them as one
-- string; only what is returned is concatenated.
local function take(st, n)
  st.size = st.size - n
  local chunks, first, off = st.chunks, st.first, st.off
  local result, parts
  while n > 0 do
    local c = chunks[first]
    local avail = #c - off + 1
    local piece
    if n < avail then
      piece = sub(c, off, off + n - 1)
      off = off + n
      n = 0
    else
      piece = off == 1 and c or sub(c, off)
      chunks[first] = nil
      first, off = first + 1, 1
      n = n - avail
    end
    if parts then
      parts[#parts + 1] = piece
    elseif result then
      parts = { result, piece }
    else
      result = piece
    end
  end
  if first > st.last then -- empty: start the indices again
    first, st.last = 1, 0
  end
  st.first, st.off = first, off
  return parts and concat(parts) or result or ""
end

-- The buffered byte at position p (1 <= p <= size).
local function byte_at(st, p)
  local i, off = st.first, st.off
  while true do
    local c = st.chunks[i]
    local avail = #c - off + 1
    if p <= avail then
      return byte(c, off + p - 1)
    end
    p, i, off = p - avail, i + 1, 1
  end
end

-- Wait for the next chunk from the peer and append it to the buffer.
-- Returns true, or nil and the coroutine form's error ("closed" at EOF).
local function fill(sock, st)
  if st.eof then
    return nil, "closed"
  end
  local ok, err, code = C.read(sock, st.wake)
  if ok == nil and err then
    return nil, failure(err, code)
  end
  st.waiter = running()
  local data
  err, data, code = yield()
  if err then
    return nil, failure(err, code)
  elseif data == nil then
    st.eof = true
    return nil, "closed"
  end
  if #data > 0 then
    st.last = st.last + 1
    st.chunks[st.last] = data
    st.size = st.size + #data
  end
  return true
end

-- Wait until delim is in the buffer and return the position of its first
-- byte; or nil, TOO_LONG when it would come after more than limit bytes;
-- or nil and the error of fill. Every byte is searched once: a chunk by
-- itself, and a match across chunks in the seam of the `keep` bytes before
-- a chunk and the first `keep` bytes of it. The buffer never holds more
-- than limit + #delim bytes and one chunk.
local function find_delim(sock, st, delim, limit)
  local keep = #delim - 1
  local index, base, tail = st.first, 0, "" -- next chunk; bytes before it; the last keep of them
  while true do
    while index <= st.last do
      local c = st.chunks[index]
      local init = index == st.first and st.off or 1
      local pos
      if tail ~= "" then
        local q = find(tail .. sub(c, 1, keep), delim, 1, true)
        pos = q and base - #tail + q
      end
      if not pos then
        local q = find(c, delim, init, true)
        pos = q and base + q - init + 1
      end
      if pos then
        if pos - 1 > limit then
          return nil, TOO_LONG
        end
        return pos
      end
      local fresh = #c - init + 1
      if keep > 0 then
        tail = fresh >= keep and sub(c, -keep) or sub(tail .. sub(c, init), -keep)
      end
      base, index = base + fresh, index + 1
    end
    if st.size >= limit + #delim then
      return nil, TOO_LONG
    end
    local ok, err = fill(sock, st)
    if not ok then
      return nil, err
    end
  end
end

-- The state of sock for a read in the calling coroutine; raises outside a
-- coroutine, and while another coroutine reads sock (as the C layer does),
-- at level as error() counts it from begin_read's caller (default 2: the
-- script, for a method it calls directly).
local function begin_read(sock, what, level)
  level = (level or 2) + 1
  current(what, level)
  local st = state(sock)
  if st.waiter then
    error("already reading", level)
  end
  return st
end

-- max (argument #arg of name): an integer >= 1 (so that a read too long
-- still takes something), DEFAULT_MAX if nil.
local function check_max(max, arg, name)
  if max == nil then
    return DEFAULT_MAX
  end
  local n = tointeger(max)
  if type(max) ~= "number" or not n or n < 1 then
    arg_error(3, arg, name, "max must be an integer >= 1")
  end
  return n
end

-- The waiting versions run called from their C method, which the script
-- called: its errors are raised at level 3, the script's call.

-- sock:read(n) -> exactly n bytes; or nil, err, partial.
local function wait_read(sock, n)
  if type(n) ~= "number" then
    arg_error(3, 1, "read", "callback or number of bytes expected, got " .. type(n))
  end
  local count = tointeger(n)
  if not count or count < 0 then
    arg_error(3, 1, "read", "number of bytes must be an integer >= 0")
  end
  local st = begin_read(sock, "sock:read(n)", 3)
  while st.size < count do
    local ok, err = fill(sock, st)
    if not ok then
      return nil, err, take(st, st.size)
    end
  end
  return take(st, count)
end

-- sock:read_line([max]) -> the next line without "\n" or "\r\n"; or nil,
-- err, partial. A line longer than max gives nil, "line too long" and its
-- first max bytes; the rest of it stays for the next read.
function conn_methods.read_line(sock, max)
  max = check_max(max, 1, "read_line")
  local st = begin_read(sock, "sock:read_line")
  local pos, err = find_delim(sock, st, "\n", max + 1) -- + 1: a "\r" before the "\n"
  if pos then
    local len = pos - 1
    local crlf = len > 0 and byte_at(st, len) == CR
    if crlf then
      len = len - 1
    end
    if len <= max then
      local line = take(st, len)
      take(st, crlf and 2 or 1)
      return line
    end
    err = TOO_LONG
  end
  if err == TOO_LONG then
    return nil, "line too long", take(st, max)
  end
  return nil, err, take(st, st.size)
end

-- sock:read_until(delim [, max]) -> the data before the next delim (delim
-- is consumed); or nil, err, partial. No delim within max bytes gives nil,
-- "too long" and the first max bytes; the rest stays for the next read.
function conn_methods.read_until(sock, delim, max)
  if type(delim) ~= "string" or delim == "" then
    arg_error(2, 1, "read_until", "delimiter must be a non-empty string")
  end
  max = check_max(max, 2, "read_until")
  local st = begin_read(sock, "sock:read_until")
  local pos, err = find_delim(sock, st, delim, max)
  if pos then
    local data = take(st, pos - 1)
    take(st, #delim)
    return data
  elseif err == TOO_LONG then
    return nil, "too long", take(st, max)
  end
  return nil, err, take(st, st.size)
end

-- sock:read_some() -> what is buffered, or else the next chunk that
-- arrives; or nil, err.
function conn_methods.read_some(sock)
  local st = begin_read(sock, "sock:read_some")
  if st.size == 0 then
    local ok, err = fill(sock, st)
    if not ok then
      return nil, err
    end
  end
  return take(st, st.size)
end

-- Suspend until a write-side callback resumes with (err, code): true, or
-- nil and the coroutine form's error.
local function await_done()
  local err, code = yield()
  if err then
    return nil, failure(err, code), code
  end
  return true
end

-- Suspend until an accept or connect callback resumes with (err, handle,
-- code): the handle, or nil and the coroutine form's error.
local function await_handle()
  local err, handle, code = yield()
  if err then
    return nil, failure(err, code), code
  end
  return handle
end

-- sock:write(data) -> true once the data is queued and the queue is below
-- high water; or nil, err, code. A write that finds the queue at high water
-- waits for its own callback (its data sent), which also brings the errors
-- that end the wait: write timeout, reset, close (ECANCELED).
local function wait_write(sock, data)
  local co = running()
  local waiting = false
  local ok, err, code = C.write(sock, data, function(e, c)
    if waiting then
      waiting = false
      step(co, e, c)
    end
  end)
  if ok == nil then
    return nil, failure(err, code), code
  elseif ok then
    return true
  end
  waiting = true
  return await_done()
end

-- sock:shutdown() -> true once the queued data is sent and the write side
-- is shut; or nil, err, code. (close() drops what is still queued: shut
-- down first to have it all sent.)
local function wait_shutdown(sock)
  local co = running()
  local ok, err, code = C.shutdown(sock, function(...)
    step(co, ...)
  end)
  if ok == nil and err then
    return nil, failure(err, code), code
  end
  return await_done()
end

-- sock:settimeouts(connect_ms, send_ms, read_ms), sock:settimeout(ms):
-- OpenResty's names for set_timeouts; 0 or nil is no timeout. The handle is
-- connected already, so the connect timeout is mp.tcp.connect's
-- opts.timeout; connect_ms is taken for OpenResty's signature only.
function conn_methods.settimeouts(sock, _, send_ms, read_ms)
  return C.set_timeouts(sock, { read = read_ms, write = send_ms })
end

function conn_methods.settimeout(sock, ms)
  return C.set_timeouts(sock, { read = ms, write = ms })
end

-- server:accept() -> the next connection, or nil, err, code.
local function wait_accept(server)
  current("server:accept", 3)
  local st = state(server)
  if st.waiter then
    error("already accepting", 3)
  end
  local ok, err, code = C.accept(server, st.wake)
  if ok == nil and err then
    return nil, failure(err, code), code
  end
  st.waiter = running()
  return await_handle()
end

core_tcp.coroutine_form({
  read = wait_read,
  write = wait_write,
  shutdown = wait_shutdown,
  accept = wait_accept,
})

local tcp = { listen = core_tcp.listen }

-- mp.tcp.connect(host, port [, opts]) -> sock, or nil, err, code, waiting
-- for the connection. With a callback, the C form:
-- mp.tcp.connect(host, port, cb [, opts]).
function tcp.connect(host, port, cb, opts)
  if type(cb) == "function" then
    return C.connect(host, port, cb, opts)
  elseif cb ~= nil and type(cb) ~= "table" then
    arg_error(2, 3, "connect", "callback or options table expected, got " .. type(cb))
  end
  local co = current("mp.tcp.connect")
  local conn, err, code = C.connect(host, port, function(...)
    step(co, ...)
  end, cb)
  if not conn then
    return nil, failure(err, code), code
  end
  return await_handle()
end

return tcp
