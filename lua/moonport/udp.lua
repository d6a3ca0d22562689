-- udp.lua: the coroutine form of UDP on top of the C callback form. One
-- handle serves both forms: sock:recv(cb) and sock:send(data, host, port,
-- cb) are the C form; without the callback, inside mp.spawn, recv waits
-- for the next datagram and send for the kernel to take the datagram;
-- connect to a host name waits for the name to resolve. The
-- C methods hand such calls to the waiting versions registered here.
local core = require "moonport.core"
local coro = require "moonport.coro"

local step, current = coro.step, coro.current
local running, yield = coroutine.running, coroutine.yield

local core_udp = core.udp
local methods = core_udp.methods

-- The C calls this file builds on, with their callbacks.
local C = { recv = methods.recv, send = methods.send, connect = methods.connect }

-- sock:recv() -> data, host, port, flags (flags: nil, or {truncated =
-- true} when the datagram was longer than recv_size); or nil, err, code.
-- Errors are raised at level 3: the script's call of the C method.
local function wait_recv(sock, cb)
  if cb ~= nil then
    error("bad argument #1 to 'recv' (function expected, got " .. type(cb) .. ")", 3)
  end
  local co = current("sock:recv", 3)
  local ok, err, code = C.recv(sock, function(...)
    step(co, ...)
  end)
  if not ok then
    return nil, err, code
  end
  local e, data, host, port, flags = yield()
  if e then
    return nil, e, host -- the failure shape (err, nil, code)
  end
  return data, host, port, flags
end

-- start(cb) begins an operation whose callback is cb(err, code); wait for
-- it: true, or nil, err, code (also when start refuses at once).
local function wait_done(start)
  local co = running()
  local ok, err, code = start(function(...)
    step(co, ...)
  end)
  if not ok then
    return nil, err, code
  end
  local e, name = yield()
  if e then
    return nil, e, name
  end
  return true
end

-- sock:send(data, host, port) -> true once the kernel took the datagram;
-- or nil, err, code.
local function wait_send(sock, data, host, port)
  return wait_done(function(cb)
    return C.send(sock, data, host, port, cb)
  end)
end

-- sock:connect(host, port) for a host name: true once it has resolved and
-- the socket is connected to its first address; or nil, err, code.
local function wait_connect(sock, host, port)
  return wait_done(function(cb)
    return C.connect(sock, host, port, cb)
  end)
end

core_udp.coroutine_form({ recv = wait_recv, send = wait_send, connect = wait_connect })

return { bind = core_udp.bind }
