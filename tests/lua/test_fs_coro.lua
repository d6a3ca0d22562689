-- test_fs_coro.lua: mp.fs in the coroutine form: the same calls without a
-- callback, inside mp.spawn, return value or nil, err, code.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local F = require "fs_helper"

TestFsCoro = F.class()

-- Run fn in a coroutine to its end; it must finish.
local function spawn_run(fn)
  local done = false
  mp.spawn(function()
    fn()
    done = true
  end)
  mp.run()
  lu.assertTrue(done, "the coroutine did not finish")
end

local function assert_fail(code, what, value, err, name)
  lu.assertNil(value)
  lu.assertEquals(name, code)
  lu.assertStrMatches(err, code .. ": " .. what .. " '.*': .+")
end

function TestFsCoro:test_file_round_trip()
  spawn_run(function()
    local f = assert(mp.fs.open(F.path("rt"), "w+", tonumber("640", 8)))
    lu.assertEquals(f:path(), F.path("rt"))
    lu.assertEquals(f:write("hello, world", 0), 12)
    lu.assertEquals(f:read(5, 7), "world")
    lu.assertEquals(f:read(5, 12), "")
    lu.assertTrue(f:fsync())
    local st = assert(f:stat())
    lu.assertEquals(st.size, 12)
    f:close()
    assert_fail("ECLOSED", "read", f:read(1, 0))
    assert_fail("ECLOSED", "write", f:write("x", 0))
    assert_fail("ECLOSED", "fsync", f:fsync())
    assert_fail("ECLOSED", "stat", f:stat())
  end)
  lu.assertEquals(F.slurp(F.path("rt")), "hello, world")
end

function TestFsCoro:test_open_with_a_mode()
  H.skip_on_windows("permission bits: a Windows file has only its read-only attribute (mode 0666 or 0444)")
  spawn_run(function()
    local f = assert(mp.fs.open(F.path("m"), "w", tonumber("640", 8)))
    lu.assertEquals(assert(f:stat()).mode, tonumber("640", 8))
    f:close()
  end)
end

function TestFsCoro:test_open_read_only_with_a_mode()
  -- Without the owner's write bit: read-only on Windows too; the handle
  -- that made it still writes.
  spawn_run(function()
    local f = assert(mp.fs.open(F.path("ro"), "w+", tonumber("444", 8)))
    lu.assertEquals(f:write("x", 0), 1)
    lu.assertEquals(assert(f:stat()).mode & tonumber("600", 8), tonumber("400", 8))
    f:close()
    lu.assertTrue(mp.fs.unlink(F.path("ro")))
  end)
end

function TestFsCoro:test_errors_return_nil_err_code()
  local ro = F.make("ro", "abc")
  spawn_run(function()
    assert_fail("ENOENT", "open", mp.fs.open(F.path("none"), "r"))
    assert_fail("EISDIR", "open", mp.fs.open(F.dir, "r"))
    assert_fail("EEXIST", "open", mp.fs.open(ro, "wx"))
    local f = assert(mp.fs.open(ro, "r"))
    assert_fail("EBADF", "write", f:write("x", 0))
    f:close()
    assert_fail("ENOENT", "stat", mp.fs.stat(F.path("none")))
    assert_fail("ENOENT", "unlink", mp.fs.unlink(F.path("none")))
    assert_fail("ENOENT", "rename", mp.fs.rename(F.path("none"), F.path("x")))
    assert_fail("EEXIST", "mkdir", mp.fs.mkdir(F.dir))
    assert_fail("ENOTDIR", "scandir", mp.fs.scandir(ro))
    assert_fail("ENOENT", "open", mp.fs.read_file(F.path("none")))
    assert_fail("EISDIR", "open", mp.fs.write_file(F.dir, "x"))
  end)
end

function TestFsCoro:test_paths()
  spawn_run(function()
    lu.assertTrue(mp.fs.mkdir(F.path("d")))
    lu.assertTrue(mp.fs.mkdir(F.path("d/e"), tonumber("700", 8)))
    lu.assertTrue(mp.fs.write_file(F.path("d/f"), "data"))
    lu.assertEquals(mp.fs.read_file(F.path("d/f")), "data")
    lu.assertTrue(mp.fs.rename(F.path("d/f"), F.path("d/g")))
    local entries = assert(mp.fs.scandir(F.path("d")))
    table.sort(entries, function(a, b) return a.name < b.name end)
    lu.assertEquals(entries, { { name = "e", type = "directory" }, { name = "g", type = "file" } })
    lu.assertEquals(assert(mp.fs.stat(F.path("d/e"))).type, "directory")
    lu.assertTrue(mp.fs.unlink(F.path("d/g")))
    assert_fail("ENOENT", "stat", mp.fs.stat(F.path("d/g")))
    assert_fail("ENOTEMPTY", "rmdir", mp.fs.rmdir(F.path("d")))
    lu.assertTrue(mp.fs.rmdir(F.path("d/e")))
    lu.assertTrue(mp.fs.rmdir(F.path("d")))
    assert_fail("ENOENT", "rmdir", mp.fs.rmdir(F.path("d")))
  end)
end

function TestFsCoro:test_close_from_another_coroutine_cancels_a_waiting_read()
  local path = F.make("wait", string.rep("r", 100))
  spawn_run(function()
    local f = assert(mp.fs.open(path, "r"))
    local results = {}
    for i = 1, 3 do
      mp.spawn(H.expect(function()
        results[i] = { f:read(10, i) }
      end, 1))
    end
    f:close()
    mp.sleep(20)
    for i = 1, 3 do
      lu.assertNil(results[i][1])
      lu.assertEquals(results[i][3], "ECANCELED")
    end
  end)
end

function TestFsCoro:test_many_coroutines_copy_files_with_checksums()
  local n = 12
  local sources = {}
  for i = 1, n do
    sources[i] = F.make("src" .. i, F.bytes(20000 + i * 1111, i + 100))
  end
  local copied = 0
  for i = 1, n do
    mp.spawn(function()
      local src = assert(mp.fs.open(sources[i], "r"))
      local dst = assert(mp.fs.open(F.path("dst" .. i), "w"))
      local off = 0
      while true do
        local data = assert(src:read(4096, off))
        if data == "" then
          break
        end
        assert(dst:write(data, off) == #data)
        off = off + #data
      end
      src:close()
      dst:close()
      copied = copied + 1
    end)
  end
  mp.run()
  lu.assertEquals(copied, n)
  for i = 1, n do
    local want, got = F.slurp(sources[i]), F.slurp(F.path("dst" .. i))
    lu.assertEquals(F.checksum(got), F.checksum(want))
    lu.assertTrue(got == want)
  end
end

function TestFsCoro:test_read_file_limit()
  local path = F.path("huge")
  spawn_run(function()
    local f = assert(mp.fs.open(path, "w"))
    assert(f:write("!", mp.fs.MAX_READ))
    f:close()
    assert_fail("EFBIG", "read_file", mp.fs.read_file(path))
  end)
end

H.run_tests()
