-- moonport: the module scripts require. The C core (moonport.core) gives
-- the loop, timers and errors; this file adds what is better said in Lua:
-- the coroutine layer.
local core = require "moonport.core"

local mp = {}
for name, value in pairs(core) do
  mp[name] = value
end

local coro = require "moonport.coro"
local step, current = coro.step, coro.current
local yield = coroutine.yield

-- mp.spawn(fn, ...) -> coroutine: run fn(...) as a coroutine, now, until
-- its first wait. Inside it, waiting calls (mp.sleep) suspend only it.
function mp.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(fn) .. ")", 2)
  end
  local co = coroutine.create(fn)
  step(co, ...)
  return co
end

-- mp.sleep(ms): suspend the calling coroutine for ms milliseconds.
function mp.sleep(ms)
  local co = current("mp.sleep")
  core.timer(ms, function()
    step(co)
  end)
  yield()
end

-- TCP: the callback form from the core, the coroutine form from tcp.lua
-- (a core built without TCP has no mp.tcp).
if core.tcp then
  mp.tcp = require "moonport.tcp"
end

-- Files: the callback form from the core, the coroutine form and the
-- whole-file helpers from fs.lua.
if core.fs then
  mp.fs = require "moonport.fs"
end

-- UDP: the same split, the coroutine form from udp.lua.
if core.udp then
  mp.udp = require "moonport.udp"
end

-- Name resolution: the callback form from the core, the coroutine form
-- from dns.lua.
mp.dns = require "moonport.dns"

return mp
