-- fs_helper.lua: what the mp.fs tests share on top of helper.lua: a test
-- class that works in a fresh temporary directory (removed after each
-- test) and collects the errors raised in callbacks, and small tools. The
-- directory is made and removed with commands of the system's own shell
-- (sh on Linux, cmd on Windows), not with the mp.fs under test.
local lu = require "luaunit"
local H = require "helper"

local F = {}

-- The running test's directory and the errors its callbacks raised.
F.dir = nil
local errors

-- path quoted for the shell; cmd wants backslashes (a slash starts an option).
local function quoted(path)
  if H.windows then
    return '"' .. path:gsub("/", "\\") .. '"'
  end
  return "'" .. path .. "'"
end

-- Run a shell command; under Wine, starting cmd.exe now and then fails
-- ("Invalid argument") while many Wine processes start at once: try
-- three times there before giving up.
local function shell(command)
  local ok, how, code = os.execute(command)
  for _ = 2, H.windows and 3 or 1 do
    if ok then
      break
    end
    ok, how, code = os.execute(command)
  end
  assert(ok, command .. ": " .. tostring(how) .. " " .. tostring(code))
end

-- Make a directory with the shell (outside the loop, unlike mp.fs.mkdir).
function F.mkdir(path)
  shell((H.windows and "mkdir " or "mkdir -m 700 ") .. quoted(path))
end

-- Remove a directory and everything in it. On Windows read-only files
-- lose that attribute first: rmdir would leave them behind.
local function remove_tree(path)
  if H.windows then
    os.execute("attrib -r /s /d " .. quoted(path .. "/*") .. " >NUL 2>NUL")
    shell("rmdir /s /q " .. quoted(path))
  else
    shell("rm -rf " .. quoted(path))
  end
end

-- The directory temporary files go in: TMPDIR, else TEMP (Windows), else /tmp.
local temp_base = os.getenv("TMPDIR") or os.getenv("TEMP") or "/tmp"

-- A test class: setUp makes F.dir, tearDown runs the loop to idle (as
-- helper.lua does), checks that no callback raised, and removes F.dir.
function F.class()
  local class = H.class()
  function class.setUp()
    H.setUp()
    errors = H.capture_errors()
    -- A name no other process has: os.tmpname's (mkstemp's on POSIX, which
    -- also makes the file; on Windows the process id and a counter). The
    -- random generator would not do: two test files started in the same
    -- second under Wine, with the same addresses, get the same seed.
    local unique = os.tmpname()
    os.remove(unique)
    F.dir = temp_base .. "/mp_fs" .. unique:gsub("[^%w]", "_")
    F.mkdir(F.dir)
  end
  function class.tearDown()
    local ok, err = pcall(H.tearDown)
    remove_tree(F.dir)
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

-- A path that even root may not open for writing (EACCES), or nil. On
-- Windows: a file with the read-only attribute.
function F.denied_path()
  if H.windows then
    local path = F.make("denied", "x")
    assert(os.execute("attrib +r " .. quoted(path)))
    return path
  end
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
