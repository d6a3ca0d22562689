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
local stream = require "moonport.stream"

local step, current = coro.step, coro.current
local running, yield = coroutine.running, coroutine.yield
local push, take = stream.push, stream.take
local read_bytes, read_line, read_until, read_some =
  stream.read, stream.read_line, stream.read_until, stream.read_some
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
-- are weak): a receive buffer (stream.lua), eof, true once the peer's end
-- was read, and waiter, the coroutine waiting for the handle's pending read
-- (or accept) callback, which is wake; the C layer calls it exactly once,
-- also when the handle is closed (ECANCELED). While a coroutine waits, no
-- other may read the handle: the buffer is its own until it returns.
local states = setmetatable({}, { __mode = "k" })

local function state(handle)
  local st = states[handle]
  if not st then
    st = stream.new()
    st.eof, st.waiter = false, nil
    function st.wake(...)
      local co = st.waiter
      st.waiter = nil
      step(co, ...)
    end
    states[handle] = st
  end
  return st
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
  push(st, data)
  return true
end

-- Run the stream read `read` on sock's buffer, filling it until the read
-- has its answer: read's own, or nil, the error of fill and all that was
-- buffered.
local function read_filled(sock, st, read, a, b)
  while true do
    local data, err, partial = read(st, a, b)
    if data ~= false then
      return data, err, partial
    end
    local ok
    ok, err = fill(sock, st)
    if not ok then
      return nil, err, take(st, st.size)
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
  return read_filled(sock, begin_read(sock, "sock:read(n)", 3), read_bytes, count)
end

-- sock:read_line([max]) -> the next line without "\n" or "\r\n"; or nil,
-- err, partial. A line longer than max gives nil, "line too long" and its
-- first max bytes; the rest of it stays for the next read.
function conn_methods.read_line(sock, max)
  max = check_max(max, 1, "read_line")
  return read_filled(sock, begin_read(sock, "sock:read_line"), read_line, max)
end

-- sock:read_until(delim [, max]) -> the data before the next delim (delim
-- is consumed); or nil, err, partial. No delim within max bytes gives nil,
-- "too long" and the first max bytes; the rest stays for the next read.
function conn_methods.read_until(sock, delim, max)
  if type(delim) ~= "string" or delim == "" then
    arg_error(2, 1, "read_until", "delimiter must be a non-empty string")
  end
  max = check_max(max, 2, "read_until")
  return read_filled(sock, begin_read(sock, "sock:read_until"), read_until, delim, max)
end

-- sock:read_some() -> what is buffered, or else the next chunk that
-- arrives; or nil, err.
function conn_methods.read_some(sock)
  local data, err = read_filled(sock, begin_read(sock, "sock:read_some"), read_some)
  return data, err
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
