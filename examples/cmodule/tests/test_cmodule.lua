-- test_cmodule.lua: the example C module (examples/cmodule) through the C
-- module API: SHA-256 against the FIPS 180-4 vectors and sha256sum, files
-- hashed on the work threads in both forms and many at once, errors of the
-- work, errors raised by callbacks, the pipe reader on mp_io_read (data, the
-- end of file, close with a read in flight, use after close, GC), and the
-- ABI check's refusal.
local lu = require "luaunit"
local mp = require "moonport"
local H = require "helper"
local F = require "fs_helper"
local cmodule = require "cmodule"

TestCModule = F.class()

local expect = H.expect

-- sha256sum's digest of the file at path, whose contents are data. Windows
-- has no sha256sum: there the module's own digest of data stands in, which
-- test_fips_180_vectors checks.
local function sha256sum(path, data)
  if H.windows then
    return cmodule.sha256(data)
  end
  local p = assert(io.popen("sha256sum '" .. path .. "'"))
  local line = p:read("l")
  p:close()
  return line:match("^(%x+)")
end

-- Run fn(...) as a coroutine that must finish before the test ends.
local function spawn(fn, ...)
  local done = expect(function() end, 1, debug.traceback("spawned here", 2))
  local args = table.pack(...)
  mp.spawn(function()
    fn(table.unpack(args, 1, args.n))
    done()
  end)
end

function TestCModule:test_fips_180_vectors()
  local vectors = {
    [""] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq = "248d6a61d20638b8e5c026930c3e6039"
      .. "a33ce45964ff2167f6ecedd419db06c1",
    ["abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
      .. "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"] = "cf5b16a778af8380036ce59e7b049237"
      .. "0b249b11e8f07a51afac45037afee9d1",
    [string.rep("a", 1000000)] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  }
  for message, digest in pairs(vectors) do
    lu.assertEquals(cmodule.sha256(message), digest, "length " .. #message)
  end
end

function TestCModule:test_files_agree_with_sha256sum_at_every_padding_edge()
  -- Lengths around the 55/56/64-byte edges of SHA-256's padding, and
  -- around the module's 16 KiB reads.
  for _, n in ipairs { 0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 16383, 16384, 16385, 1000003 } do
    local data = F.bytes(n, n + 1)
    local path = F.make("f" .. n, data)
    local want = sha256sum(path, data)
    cmodule.sha256_file(path, expect(function(err, hex)
      lu.assertNil(err)
      lu.assertEquals(hex, want, "length " .. n)
    end, 1))
  end
end

function TestCModule:test_coroutine_form()
  local path = F.make("data", "hello, moonport\n")
  local want = sha256sum(path, "hello, moonport\n")
  spawn(function()
    lu.assertEquals(cmodule.sha256_file(path), want)
    local hex, err, code = cmodule.sha256_file(F.path("missing"))
    lu.assertNil(hex)
    lu.assertEquals(code, "ENOENT")
    lu.assertStrMatches(err, "ENOENT: sha256_file '.*/missing': no such file or directory")
    -- Again after a failure: the coroutine goes on waiting normally.
    lu.assertEquals(cmodule.sha256_file(path), want)
  end)
end

function TestCModule:test_many_jobs_at_once_each_digest_checked()
  local n, contents = 200, {}
  for i = 1, n do
    contents[i] = F.bytes(1000 + i * 97, i)
    F.make("job" .. i, contents[i])
  end
  local done = 0
  for i = 1, n do
    cmodule.sha256_file(F.path("job" .. i), expect(function(err, hex)
      lu.assertNil(err)
      lu.assertEquals(hex, cmodule.sha256(contents[i]), "job " .. i)
      done = done + 1
    end, 1))
  end
  -- And as many coroutines, all waiting at once.
  for i = 1, n do
    spawn(function()
      lu.assertEquals(cmodule.sha256_file(F.path("job" .. i)), cmodule.sha256(contents[i]))
      done = done + 1
    end)
  end
  lu.assertTrue(mp.alive(), "work in flight keeps the loop alive")
  mp.run()
  lu.assertEquals(done, 2 * n)
  -- One spot check against sha256sum, in case sha256() and the file path
  -- were wrong the same way.
  lu.assertEquals(cmodule.sha256(contents[n]), sha256sum(F.path("job" .. n), contents[n]))
end

function TestCModule:test_errors_of_the_work()
  local function failed(code, what)
    return expect(function(err, value, name)
      lu.assertNil(value)
      lu.assertEquals(name, code)
      lu.assertStrMatches(err, code .. ": sha256_file '" .. what .. "': .+")
    end, 1)
  end
  cmodule.sha256_file(F.path("missing"), failed("ENOENT", ".*/missing"))
  -- The C library's own errno for these differs: Windows' fopen refuses a
  -- directory with EACCES and a path through a file with ENOENT.
  cmodule.sha256_file(F.dir, failed(H.windows and "EACCES" or "EISDIR", ".*"))
  cmodule.sha256_file(F.make("x", "x") .. "/below",
    failed(H.windows and "ENOENT" or "ENOTDIR", ".*/x/below"))
  H.skip_on_windows("permission bits: chmod 000 has no Windows counterpart")
  local denied = F.make("denied", "secret")
  assert(os.execute("chmod 000 '" .. denied .. "'"))
  local readable = io.open(denied, "rb")
  if readable then
    readable:close() -- root reads it all the same: no EACCES to see
  else
    cmodule.sha256_file(denied, failed("EACCES", ".*/denied"))
  end
end

function TestCModule:test_bad_arguments_raise()
  H.assert_arg_error(1, "sha256_file", "string expected", cmodule.sha256_file, nil, function() end)
  H.assert_arg_error(1, "sha256_file", "NUL", cmodule.sha256_file, "a\0b", function() end)
  H.assert_arg_error(2, "sha256_file", "function expected", cmodule.sha256_file, "x", 42)
  -- No callback outside a coroutine: nothing to call back, nothing to suspend.
  H.assert_arg_error(2, "sha256_file", "inside mp.spawn", cmodule.sha256_file, "x")
  H.assert_arg_error(1, "sha256", "string expected", cmodule.sha256, {})
  lu.assertFalse(mp.alive(), "a refused call started nothing")
end

function TestCModule:test_error_in_a_callback_goes_to_on_error()
  local errors = H.capture_errors()
  local path = F.make("data", "x")
  cmodule.sha256_file(path, function()
    error("oops in a module callback")
  end)
  mp.spawn(function()
    cmodule.sha256_file(path)
    error("oops in a module coroutine")
  end)
  mp.run()
  lu.assertEquals(#errors, 2)
  table.sort(errors)
  lu.assertStrContains(errors[1], "oops in a module callback")
  lu.assertStrContains(errors[1], "stack traceback:")
  lu.assertStrContains(errors[2], "oops in a module coroutine")
  lu.assertStrContains(errors[2], "stack traceback:")
  mp.on_error(nil)
end

function TestCModule:test_pipe_reads_in_both_forms_until_the_end()
  local r, w = cmodule.pipe()
  lu.assertEquals(tostring(r), "cmodule.reader (open)")
  lu.assertFalse(mp.alive(), "an idle reader does not keep the loop alive")
  r:read(expect(function(err, data)
    lu.assertNil(err)
    lu.assertEquals(data, "first")
  end, 1))
  lu.assertTrue(mp.alive(), "a read in flight keeps the loop alive")
  mp.timer(5, function()
    lu.assertEquals(w:write("first"), 5)
  end)
  mp.run()
  spawn(function()
    mp.timer(5, function()
      w:write("second")
    end)
    lu.assertEquals(r:read(), "second")
    w:write("third")
    w:close()
    lu.assertEquals(r:read(), "third")
    lu.assertNil(r:read(), "the end of file")
    lu.assertNil(r:read(), "and again")
    r:close()
  end)
end

function TestCModule:test_reads_leave_nothing_behind()
  -- More than one read takes (64 KiB) and than the pipe holds (64 KiB on
  -- Linux): the writer refills as the reader drains, and every byte must
  -- arrive once, in order.
  local data = F.bytes(300000, 3)
  local r, w = cmodule.pipe()
  local sent, got = 0, {}
  local function pump()
    if sent < #data then
      sent = sent + w:write(data:sub(sent + 1, sent + 100000))
      mp.timer(1, pump)
    else
      w:close()
    end
  end
  pump()
  spawn(function()
    while true do
      local chunk, err = r:read()
      lu.assertNil(err)
      if not chunk then break end
      lu.assertTrue(#chunk <= 65536)
      got[#got + 1] = chunk
    end
    r:close()
  end)
  mp.run()
  lu.assertTrue(table.concat(got) == data, "the bytes read are the bytes written")
end

function TestCModule:test_close_with_a_read_in_flight_cancels_it_once()
  local r, w = cmodule.pipe()
  r:read(expect(function(err, data, code)
    lu.assertNil(data)
    lu.assertEquals(code, "ECANCELED")
    lu.assertEquals(err, "ECANCELED: read: operation cancelled")
  end, 1))
  r:close()
  r:close() -- idempotent
  lu.assertEquals(tostring(r), "cmodule.reader (closed)")
  mp.run()
  -- Once the close has gone through, the pipe has no reader: the write
  -- end says so (EPIPE, and no SIGPIPE ends the process).
  local n, err, code = w:write("late")
  lu.assertNil(n)
  lu.assertEquals(code, "EPIPE")
  lu.assertEquals(err, "EPIPE: write: broken pipe")
  w:close()
  -- The coroutine form: the same cancel, as a return.
  local r2, w2 = cmodule.pipe()
  spawn(function()
    local data, cerr, ccode = r2:read()
    lu.assertNil(data)
    lu.assertEquals(ccode, "ECANCELED")
    lu.assertStrContains(cerr, "ECANCELED: read")
  end)
  mp.timer(1, function()
    r2:close()
    w2:close()
  end)
end

function TestCModule:test_many_pipes_closed_with_reads_in_flight()
  local pipes = {}
  for i = 1, 100 do
    local r, w = cmodule.pipe()
    pipes[i] = { r = r, w = w }
    r:read(expect(function(err, data, code)
      lu.assertNil(data)
      lu.assertEquals(code, "ECANCELED", err)
    end, 1))
  end
  -- Half have data waiting when they close: still one callback each, the
  -- cancel.
  mp.timer(2, function()
    for i, p in ipairs(pipes) do
      if i % 2 == 1 then
        lu.assertEquals(p.w:write("waiting"), 7)
      end
      p.r:close()
      p.w:close()
      pipes[i] = nil
    end
  end)
end

function TestCModule:test_use_after_close_and_misuse()
  local r, w = cmodule.pipe()
  r:read(expect(function() end, 1))
  lu.assertErrorMsgContains("reader is already reading", r.read, r, function() end)
  r:close()
  local ok, err, code = r:read(function()
    error("not called")
  end)
  lu.assertNil(ok)
  lu.assertEquals(code, "ECLOSED")
  lu.assertEquals(err, "ECLOSED: read: closed")
  w:close()
  local n, werr, wcode = w:write("x")
  lu.assertNil(n)
  lu.assertEquals(wcode, "ECLOSED")
  lu.assertEquals(werr, "ECLOSED: write: closed")
  lu.assertErrorMsgContains("string expected", w.write, w, {})
  lu.assertErrorMsgContains("cmodule.reader expected", r.read, w, function() end)
end

function TestCModule:test_forgotten_handles_are_collected()
  do
    local r, w = cmodule.pipe()
    lu.assertNotNil(r)
    lu.assertNotNil(w)
  end
  collectgarbage("collect")
  collectgarbage("collect")
  -- A read in flight anchors its reader: dropped, it still completes.
  local w
  do
    local r
    r, w = cmodule.pipe()
    r:read(expect(function(err, data)
      lu.assertNil(err)
      lu.assertEquals(data, "kept")
    end, 1))
  end
  collectgarbage("collect")
  w:write("kept")
  mp.run()
  w:close()
  collectgarbage("collect")
end

function TestCModule:test_to_be_closed_variable_closes_the_reader()
  local outer
  do
    local pr, pw = cmodule.pipe()
    local r <close> = pr
    local w <close> = pw
    outer = r
    r:read(expect(function(_, _, code)
      lu.assertEquals(code, "ECANCELED")
    end, 1))
    lu.assertNotNil(w)
  end
  lu.assertEquals(tostring(outer), "cmodule.reader (closed)")
end

function TestCModule:test_module_built_for_another_abi_is_refused()
  local ok, err = pcall(require, "cmodule_abi_mismatch")
  lu.assertFalse(ok)
  lu.assertStrContains(err, "cmodule_abi_mismatch: built for moonport ABI 999, this moonport ("
    .. mp.version .. ") has ABI ")
  lu.assertNil(package.loaded.cmodule_abi_mismatch)
end

H.run_tests()
