-- test_fs.lua: mp.fs in the callback form: files (open, read, write,
-- fsync, stat, close), the calls on paths, the whole-file helpers, every
-- error path, bad input, and many files read and written at once.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local F = require "fs_helper"

TestFs = F.class()

local expect, failed = H.expect, F.assert_failed

-- f(...) must raise an error that says detail (methods called through
-- pcall have no name for Lua to give).
local function assert_raises(detail, f, ...)
  local ok, msg = pcall(f, ...)
  lu.assertFalse(ok, "no error for " .. detail)
  lu.assertStrContains(tostring(msg), detail)
end

-- Open path with flags and call fn(file); the open must succeed.
local function with_file(path, flags, fn)
  mp.fs.open(path, flags, H.expect(function(err, f)
    lu.assertNil(err)
    fn(f)
  end, 1))
end

function TestFs:test_write_file_then_read_file_every_byte_value()
  local data = F.bytes(70000, 7)
  local path = F.path("bytes")
  mp.fs.write_file(path, data, expect(function(err, ok)
    lu.assertNil(err)
    lu.assertTrue(ok)
    mp.fs.read_file(path, expect(function(rerr, got)
      lu.assertNil(rerr)
      lu.assertEquals(#got, #data)
      lu.assertTrue(got == data)
    end, 1))
  end, 1))
  mp.run()
  lu.assertTrue(F.slurp(path) == data)
end

function TestFs:test_read_at_offsets_and_past_the_end()
  local path = F.make("abc", "0123456789")
  with_file(path, "r", function(f)
    -- Reads in flight together may complete in any order (IOCP's workers
    -- hand them on as they come): close after the last of them.
    local left = 5
    local function read_is(n, offset, want)
      f:read(n, offset, expect(function(err, data)
        lu.assertNil(err)
        lu.assertEquals(data, want)
        left = left - 1
        if left == 0 then
          f:close()
        end
      end, 1))
    end
    read_is(4, 3, "3456")
    read_is(100, 8, "89") -- a short read at the end
    read_is(5, 10, "") -- at the end: ""
    read_is(5, 1000000, "") -- far past it: ""
    read_is(0, 0, "")
  end)
  mp.run()
end

function TestFs:test_write_at_offsets_leaves_a_hole_of_zeros()
  local path = F.path("holes")
  with_file(path, "w+", function(f)
    f:write("abc", 5, expect(function(err, n)
      lu.assertNil(err)
      lu.assertEquals(n, 3)
      f:write("XY", 0, expect(function(werr, wn)
        lu.assertNil(werr)
        lu.assertEquals(wn, 2)
        f:read(8, 0, expect(function(rerr, data)
          lu.assertNil(rerr)
          lu.assertEquals(data, "XY\0\0\0abc")
          f:close()
        end, 1))
      end, 1))
    end, 1))
  end)
  mp.run()
end

function TestFs:test_big_write_in_one_call()
  local data = F.bytes(3 * 1024 * 1024 + 17, 3)
  local path = F.path("big")
  with_file(path, "w", function(f)
    f:write(data, 0, expect(function(err, n)
      lu.assertNil(err)
      lu.assertEquals(n, #data)
      f:close()
    end, 1))
  end)
  mp.run()
  lu.assertTrue(F.slurp(path) == data)
end

function TestFs:test_flags()
  local path = F.make("flags", "old")
  -- "w" truncates, "a" appends whatever the offset, "r+" keeps the rest.
  with_file(path, "r+", function(f)
    f:write("N", 0, expect(function(err)
      lu.assertNil(err)
      f:close()
      with_file(path, "a", function(a)
        a:write("++", 0, expect(function(aerr)
          lu.assertNil(aerr)
          a:close()
          lu.assertEquals(F.slurp(path), "Nld++")
          with_file(path, "w", function(w)
            w:close()
            lu.assertEquals(F.slurp(path), "")
          end)
        end, 1))
      end)
    end, 1))
  end)
  mp.run()
  lu.assertEquals(F.slurp(path), "")
end

function TestFs:test_exclusive_create()
  local path = F.path("excl")
  mp.fs.open(path, "wx", expect(function(err, f)
    lu.assertNil(err)
    f:close()
    mp.fs.open(path, "ax+", expect(function(xerr, g, code)
      failed("EEXIST", "open", xerr, g, code)
    end, 1))
  end, 1))
  mp.run()
end

function TestFs:test_mode_of_a_new_file()
  H.skip_on_windows("permission bits: a Windows file has only its read-only attribute (mode 0666 or 0444)")
  local path = F.path("mode")
  mp.fs.open(path, "w", tonumber("600", 8), expect(function(err, f)
    lu.assertNil(err)
    f:stat(expect(function(serr, st)
      lu.assertNil(serr)
      lu.assertEquals(st.mode, tonumber("600", 8))
      lu.assertEquals(st.type, "file")
      f:close()
    end, 1))
  end, 1))
  mp.run()
end

function TestFs:test_open_errors()
  mp.fs.open(F.path("missing"), "r", expect(function(err, f, code)
    failed("ENOENT", "open", err, f, code)
    lu.assertEquals(err, "ENOENT: open '" .. F.path("missing") .. "': no such file or directory")
  end, 1))
  mp.fs.open(F.dir, "r", expect(function(err, f, code) -- a directory where a file is expected
    failed("EISDIR", "open", err, f, code)
  end, 1))
  mp.fs.open(F.dir, "r+", expect(function(err, f, code)
    failed("EISDIR", "open", err, f, code)
  end, 1))
  local file = F.make("plain", "x")
  mp.fs.open(file .. "/below", "w", expect(function(err, f, code) -- a file where a directory is expected
    failed("ENOTDIR", "open", err, f, code)
  end, 1))
  mp.fs.open(F.path("no/such/dir"), "w", expect(function(err, f, code)
    failed("ENOENT", "open", err, f, code)
  end, 1))
  mp.run()
end

function TestFs:test_permission_denied()
  H.skip_on_wine("Wine 8.0 opens a read-only file for writing here: it keeps the attribute as the Unix "
    .. "write bit, which root, the user here, bypasses")
  local path = F.denied_path()
  if not path then
    lu.skip("no path this user may not write")
  end
  mp.fs.open(path, "r+", expect(function(err, f, code)
    failed("EACCES", "open", err, f, code)
  end, 1))
  mp.run()
end

function TestFs:test_write_to_a_read_only_handle_and_read_from_a_write_only_one()
  local path = F.make("ro", "data")
  with_file(path, "r", function(f)
    f:write("x", 0, expect(function(err, n, code)
      failed("EBADF", "write", err, n, code)
      f:close()
    end, 1))
  end)
  with_file(F.path("wo"), "w", function(f)
    f:read(1, 0, expect(function(err, data, code)
      failed("EBADF", "read", err, data, code)
      f:close()
    end, 1))
  end)
  mp.run()
  lu.assertEquals(F.slurp(path), "data")
end

function TestFs:test_bad_arguments_raise()
  local path = F.make("args", "x")
  local cb = function() error("no callback for bad input") end
  H.assert_arg_error(1, "open", "NUL", mp.fs.open, path .. "\0tail", "r", cb)
  H.assert_arg_error(1, "open", "empty path", mp.fs.open, "", "r", cb)
  H.assert_arg_error(1, "open", "string expected", mp.fs.open, {}, "r", cb)
  for _, flags in ipairs({ "", "z", "rw", "r++", "rx", "+r", "xx", "w+x+" }) do
    H.assert_arg_error(2, "open", "invalid flags", mp.fs.open, path, flags, cb)
  end
  H.assert_arg_error(3, "open", "mode out of range", mp.fs.open, path, "r", -1, cb)
  H.assert_arg_error(3, "open", "mode out of range", mp.fs.open, path, "r", 8 ^ 5, cb)
  H.assert_arg_error(1, "stat", "NUL", mp.fs.stat, "a\0b", cb)
  H.assert_arg_error(2, "rename", "NUL", mp.fs.rename, path, "a\0b", cb)
  H.assert_arg_error(1, "rmdir", "empty path", mp.fs.rmdir, "", cb)
  H.assert_arg_error(1, "read_file", "string expected", mp.fs.read_file, 1, cb)
  H.assert_arg_error(2, "write_file", "string expected", mp.fs.write_file, path, nil, cb)
  H.assert_arg_error(3, "write_file", "function expected", mp.fs.write_file, path, "x", 1)
  with_file(path, "r+", function(f)
    assert_raises("negative size", f.read, f, -1, 0, cb)
    assert_raises("negative offset", f.read, f, 1, -1, cb)
    assert_raises("above the maximum", f.read, f, mp.fs.MAX_READ + 1, 0, cb)
    assert_raises("above the maximum", f.read, f, math.maxinteger, 0, cb)
    assert_raises("offset too large", f.read, f, 10, math.maxinteger - 5, cb)
    assert_raises("negative offset", f.write, f, "x", -5, cb)
    assert_raises("string expected", f.write, f, {}, 0, cb)
    assert_raises("must be called inside mp.spawn", f.fsync, f, 5)
    f:close()
  end)
  mp.run()
end

function TestFs:test_close_with_ops_in_flight_cancels_each_once()
  local path = F.make("inflight", string.rep("z", 1000))
  local results = {}
  with_file(path, "r+", function(f)
    for i = 1, 8 do
      f:read(100, i * 10, expect(function(err, data, code)
        failed("ECANCELED", "read", err, data, code)
        results[#results + 1] = i
      end, 1))
    end
    f:write("w", 0, expect(function(err, n, code)
      failed("ECANCELED", "write", err, n, code)
    end, 1))
    f:fsync(expect(function(err, ok, code)
      failed("ECANCELED", "fsync", err, ok, code)
    end, 1))
    f:stat(expect(function(err, st, code)
      failed("ECANCELED", "stat", err, st, code)
    end, 1))
    f:close()
    f:close() -- idempotent
    lu.assertTrue(f:closed())
    lu.assertStrContains(tostring(f), "closed")
    -- A closed file refuses at once, without a callback.
    local ok, err, code = f:read(1, 0, expect(function() end, 0))
    lu.assertNil(ok)
    lu.assertEquals(code, "ECLOSED")
    lu.assertStrContains(err, "ECLOSED: read '" .. path .. "'")
    ok, err, code = f:write("x", 0, expect(function() end, 0))
    lu.assertNil(ok)
    lu.assertEquals(code, "ECLOSED")
    lu.assertStrContains(err, "ECLOSED: write '")
    ok, err, code = f:stat(expect(function() end, 0))
    lu.assertNil(ok)
    lu.assertEquals(code, "ECLOSED")
    lu.assertStrContains(err, "ECLOSED: stat '")
  end)
  mp.run()
  lu.assertEquals(#results, 8)
end

function TestFs:test_descriptor_closes_after_the_last_op()
  H.skip_on_windows("counts the open descriptors in /proc/self/fd, which Windows does not have")
  local path = F.make("fds", "abc")
  local before
  mp.fs.scandir("/proc/self/fd", expect(function(err, entries)
    lu.assertNil(err)
    before = #entries
    with_file(path, "r", function(f)
      -- Closed with a read in flight: the descriptor stays open until the
      -- read's callback has returned, and no longer.
      f:read(3, 0, expect(function()
        mp.timer(1, function()
          mp.fs.scandir("/proc/self/fd", expect(function(serr, now)
            lu.assertNil(serr)
            lu.assertEquals(#now, before)
          end, 1))
        end)
      end, 1))
      f:close()
    end)
  end, 1))
  mp.run()
end

function TestFs:test_dropped_handle_still_gets_its_callbacks_then_is_collected()
  local path = F.make("dropped", "keep me")
  local gone = setmetatable({}, { __mode = "v" })
  mp.fs.open(path, "r", expect(function(err, f)
    lu.assertNil(err)
    gone[1] = f
    f:read(7, 0, expect(function(rerr, data)
      lu.assertNil(rerr)
      lu.assertEquals(data, "keep me")
    end, 1))
    f = nil -- luacheck: ignore 311
    collectgarbage("collect")
  end, 1))
  mp.run()
  collectgarbage("collect")
  collectgarbage("collect")
  lu.assertNil(gone[1])
end

function TestFs:test_fsync_and_stat()
  local path = F.path("sync")
  with_file(path, "w", function(f)
    f:write("12345", 0, expect(function(err)
      lu.assertNil(err)
      f:fsync(expect(function(serr, ok)
        lu.assertNil(serr)
        lu.assertTrue(ok)
        f:stat(expect(function(sterr, st)
          lu.assertNil(sterr)
          lu.assertEquals(st.size, 5)
          lu.assertEquals(st.nlink, 1)
          lu.assertTrue(st.mtime > 0)
          f:close()
        end, 1))
      end, 1))
    end, 1))
  end)
  mp.fs.stat(F.dir, expect(function(err, st)
    lu.assertNil(err)
    lu.assertEquals(st.type, "directory")
  end, 1))
  mp.fs.stat(F.path("missing"), expect(function(err, st, code)
    failed("ENOENT", "stat", err, st, code)
  end, 1))
  mp.run()
end

function TestFs:test_unlink_rename_mkdir()
  local a = F.make("a", "A")
  mp.fs.rename(a, F.path("b"), expect(function(err, ok)
    lu.assertNil(err)
    lu.assertTrue(ok)
    lu.assertEquals(F.slurp(F.path("b")), "A")
    mp.fs.unlink(F.path("b"), expect(function(uerr, uok)
      lu.assertNil(uerr)
      lu.assertTrue(uok)
      mp.fs.unlink(F.path("b"), expect(function(e2, v, code)
        failed("ENOENT", "unlink", e2, v, code)
      end, 1))
    end, 1))
  end, 1))
  mp.fs.rename(F.path("nothing"), F.path("c"), expect(function(err, v, code)
    failed("ENOENT", "rename", err, v, code)
  end, 1))
  mp.fs.mkdir(F.path("d"), tonumber("700", 8), expect(function(err, ok)
    lu.assertNil(err)
    lu.assertTrue(ok)
    mp.fs.mkdir(F.path("d"), expect(function(e2, v, code)
      failed("EEXIST", "mkdir", e2, v, code)
    end, 1))
    mp.fs.unlink(F.path("d"), expect(function(e2, v, code) -- a directory where a file is expected
      failed("EISDIR", "unlink", e2, v, code)
    end, 1))
    F.make("d/inside", "i")
    F.mkdir(F.path("e"))
    F.make("e/x", "")
    mp.fs.rmdir(F.path("d"), expect(function(e2, v, code)
      failed("ENOTEMPTY", "rmdir", e2, v, code)
    end, 1))
    mp.fs.rmdir(F.path("d/inside"), expect(function(e2, v, code) -- a file where a directory is expected
      failed("ENOTDIR", "rmdir", e2, v, code)
    end, 1))
    -- e, emptied once the rename onto d has failed, goes with rmdir.
    local function remove_e()
      mp.fs.unlink(F.path("e/x"), expect(function(uerr)
        lu.assertNil(uerr)
        mp.fs.rmdir(F.path("e"), expect(function(rerr, rok)
          lu.assertNil(rerr)
          lu.assertTrue(rok)
          mp.fs.rmdir(F.path("e"), expect(function(e3, v3, code3)
            failed("ENOENT", "rmdir", e3, v3, code3)
          end, 1))
        end, 1))
      end, 1))
    end
    mp.fs.rename(F.path("e"), F.path("d"), expect(function(e2, v, code)
      lu.assertTrue(code == "ENOTEMPTY" or code == "EEXIST", code)
      lu.assertNil(v)
      lu.assertStrContains(e2, "rename '")
      remove_e()
    end, 1))
  end, 1))
  mp.fs.mkdir(F.path("x/y"), expect(function(err, v, code)
    failed("ENOENT", "mkdir", err, v, code)
  end, 1))
  mp.run()
end

function TestFs:test_mode_of_a_new_directory()
  H.skip_on_windows("permission bits: a Windows directory reports mode 0777 whatever mkdir was given")
  mp.fs.mkdir(F.path("d"), tonumber("700", 8), expect(function(err)
    lu.assertNil(err)
    mp.fs.stat(F.path("d"), expect(function(serr, st)
      lu.assertNil(serr)
      lu.assertEquals(st.mode, tonumber("700", 8))
    end, 1))
  end, 1))
  mp.run()
end

-- The name = type pairs of a scandir's entries.
local function types_of(entries)
  local types = {}
  for _, e in ipairs(entries) do
    types[e.name] = e.type
  end
  return types
end

function TestFs:test_scandir()
  F.make("one", "1")
  F.make("two", "22")
  F.mkdir(F.path("sub"))
  mp.fs.scandir(F.dir, expect(function(err, entries)
    lu.assertNil(err)
    lu.assertEquals(types_of(entries), { one = "file", two = "file", sub = "directory" })
  end, 1))
  mp.fs.scandir(F.path("one"), expect(function(err, v, code)
    failed("ENOTDIR", "scandir", err, v, code)
  end, 1))
  mp.fs.scandir(F.path("none"), expect(function(err, v, code)
    failed("ENOENT", "scandir", err, v, code)
  end, 1))
  mp.fs.scandir(F.path("sub"), expect(function(err, entries)
    lu.assertNil(err)
    lu.assertEquals(entries, {})
  end, 1))
  mp.run()
end

function TestFs:test_scandir_shows_a_link_as_a_link()
  H.skip_on_windows("making a symbolic link takes a privilege (or developer mode) on Windows")
  F.make("one", "1")
  assert(os.execute("ln -s one '" .. F.path("link") .. "'"))
  mp.fs.scandir(F.dir, expect(function(err, entries)
    lu.assertNil(err)
    lu.assertEquals(types_of(entries), { one = "file", link = "link" })
  end, 1))
  mp.run()
end

function TestFs:test_read_file_errors_and_limit()
  mp.fs.read_file(F.path("none"), expect(function(err, v, code)
    failed("ENOENT", "open", err, v, code)
  end, 1))
  mp.fs.read_file(F.dir, expect(function(err, v, code)
    failed("EISDIR", "open", err, v, code)
  end, 1))
  mp.fs.write_file(F.path("no/dir/file"), "x", expect(function(err, v, code)
    failed("ENOENT", "open", err, v, code)
  end, 1))
  -- A sparse file one byte past the limit: refused before anything is read.
  local path = F.path("huge")
  with_file(path, "w", function(f)
    f:write("!", mp.fs.MAX_READ, expect(function(err)
      lu.assertNil(err)
      f:close()
      mp.fs.read_file(path, expect(function(rerr, v, code)
        failed("EFBIG", "read_file", rerr, v, code)
      end, 1))
    end, 1))
  end)
  mp.fs.read_file(F.make("empty", ""), expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "")
  end, 1))
  mp.run()
end

function TestFs:test_error_in_a_callback_does_not_stop_the_loop()
  local errors = H.capture_errors()
  mp.fs.stat(F.dir, expect(function()
    error("boom in stat")
  end, 1))
  mp.fs.read_file(F.make("after", "ok"), expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "ok")
  end, 1))
  mp.run()
  lu.assertEquals(#errors, 1)
  lu.assertStrContains(errors[1], "boom in stat")
  H.capture_errors() -- the class checks that nothing else was raised
end

-- Many files written and read back at once, in chunks at offsets, each
-- file's checksum compared with what was written.
function TestFs:test_many_files_at_once_every_byte_checked()
  local files, chunk = 24, 8192
  local want, got = {}, {}
  local finished = 0
  for i = 1, files do
    local data = F.bytes(chunk * (i % 5 + 1) + i * 37, i)
    want[i] = data
    local path = F.path("many" .. i)
    with_file(path, "w+", function(f)
      local pending = 0
      local function read_back()
        local parts, left = {}, (#data + chunk - 1) // chunk
        for c = 0, left - 1 do
          f:read(chunk, c * chunk, expect(function(err, piece)
            lu.assertNil(err)
            parts[c + 1] = piece
            left = left - 1
            if left == 0 then
              got[i] = table.concat(parts)
              f:close()
              finished = finished + 1
            end
          end, 1))
        end
      end
      for off = 0, #data - 1, chunk do
        pending = pending + 1
        f:write(data:sub(off + 1, off + chunk), off, expect(function(err)
          lu.assertNil(err)
          pending = pending - 1
          if pending == 0 then
            read_back()
          end
        end, 1))
      end
    end)
  end
  mp.run()
  lu.assertEquals(finished, files)
  for i = 1, files do
    lu.assertEquals(F.checksum(got[i]), F.checksum(want[i]), "file " .. i)
    lu.assertTrue(got[i] == want[i], "file " .. i)
    lu.assertTrue(F.slurp(F.path("many" .. i)) == want[i], "file " .. i .. " on disk")
  end
end

function TestFs:test_no_callback_outside_a_coroutine_raises()
  local ok, err = pcall(mp.fs.stat, F.dir)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "must be called inside mp.spawn")
  ok, err = pcall(mp.fs.read_file, F.dir)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "must be called inside mp.spawn")
end

H.run_tests()
