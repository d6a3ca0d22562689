-- fs_helper.lua: what the mp.fs tests share on top of helper.lua: a test
-- class that works in a fresh temporary directory (removed after each
-- test) and collects the errors raised in callbacks, and small tools.
local lu = require "luaunit"
local H = require "helper"

local F = {}

-- The running test's directory and the errors its callbacks raised.
F.dir = nil
local errors

-- A test class: setUp makes F.dir, tearDown runs the loop to idle (as
-- helper.lua does), checks that no callback raised, and removes F.dir.
function F.class()
  local class = H.class()
  function class.setUp()
    H.setUp()
    errors = H.capture_errors()
    local path = os.tmpname() -- a fresh name of our own, made into a directory
    os.remove(path)
    assert(os.execute("mkdir -m 700 '" .. path .. "'"))
    F.dir = path
  end
  function class.tearDown()
    local ok, err = pcall(H.tearDown)
    assert(os.execute("rm -rf '" .. F.dir .. "'"))
    if not ok then
      error(err, 0)
    end
    lu.assertEquals(errors, {})
  end
  return class
end

-- A path in the test's directory.
function F.path(name)
  return F.dir .. "/" .. name
end

-- Write data to a file of the test's directory with plain Lua io; returns
-- its path.
function F.make(name, data)
  local path = F.path(name)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

-- The contents of a file, read with plain Lua io.
function F.slurp(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

-- n bytes of a pseudo-random stream seeded by seed, every byte value in it.
function F.bytes(n, seed)
  local parts, x = {}, seed
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    parts[i] = string.char((x >> 16) & 255)
  end
  return table.concat(parts)
end

-- Adler-32 of s: the checksum the concurrent tests compare.
function F.checksum(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return (b << 16) | a
end

-- A failed callback's arguments: (err, nil, code) with err "CODE: what 'path': ...".
function F.assert_failed(code, what, err, value, name)
  lu.assertNil(value)
  lu.assertEquals(name, code)
  lu.assertStrMatches(err, code .. ": " .. what .. " '.*': .+")
end

-- A path that even root may not open for writing (EACCES), or nil.
function F.denied_path()
  local candidates = { "/sys/kernel/notes", "/proc/1/environ" }
  local ok, is_root = pcall(function()
    local p = io.popen("id -u")
    local uid = p:read("l")
    p:close()
    return uid == "0"
  end)
  if ok and not is_root then
    local path = F.make("denied", "x")
    assert(os.execute("chmod 000 '" .. path .. "'"))
    return path
  end
  for _, path in ipairs(candidates) do
    local f = io.open(path, "r")
    if f then
      f:close()
      return path
    end
  end
  return nil
end

return F
