-- dns.lua: mp.dns.resolve in both forms. With a callback it is the core's
-- call; without one, inside mp.spawn, it waits and returns the addresses,
-- or nil, err, code.
local core = require "moonport.core"
local coro = require "moonport.coro"

local step, current = coro.step, coro.current
local yield = coroutine.yield
-- Named so that its argument errors say "bad argument #1 to 'resolve'".
local resolve = core.dns.resolve

local dns = {}

-- mp.dns.resolve(host [, opts] [, cb])
function dns.resolve(host, opts, cb)
  if type(opts) == "function" or type(cb) == "function" then
    return resolve(host, opts, cb)
  end
  local co = current("mp.dns.resolve")
  local ok, err, code = resolve(host, opts, function(...)
    step(co, ...)
  end)
  if not ok then
    return nil, err, code
  end
  local e, addresses, c = yield()
  if e then
    return nil, e, c
  end
  return addresses
end

return dns
