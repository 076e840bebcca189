-- Spread requests over many users and tokens: every thread loads the same request table
-- (written by bench/wrk.py, one request per line: METHOD \t PATH \t CONTENT-TYPE \t BODY
-- \t AUTHORIZATION) and walks it from its own offset. A body holding "{seq}" is formatted
-- per request with "{seq}" replaced by "<thread>-<count>", so that no two are the same
-- (the charging API's references). The first line is "#check <Lua pattern>": a 2xx answer
-- whose body does not match it counts as an error (mysms answers errors with HTTP 200).
-- done() prints one parseable line: BENCH_RESULT key=value ...

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local reqs = {}
local check = nil
local index = 0
bad = 0
non2xx = 0
sample = ""

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if line:sub(1, 7) == "#check " then
      check = line:sub(8)
    elseif line ~= "" then
      local f = split(line)
      local headers = {}
      if f[3] ~= "" then headers["Content-Type"] = f[3] end
      if f[5] and f[5] ~= "" then headers["Authorization"] = f[5] end
      local body = nil
      if f[4] ~= "" then body = f[4] end
      if body and body:find("{seq}", 1, true) then
        table.insert(reqs, {f[1], f[2], headers, body})
      else
        table.insert(reqs, wrk.format(f[1], f[2], headers, body))
      end
    end
  end
  file:close()
  -- Threads start far apart in the table so they do not ask for the same users together.
  index = math.floor((tid - 1) * #reqs / 7) % #reqs
end

local seq = 0

function request()
  index = index + 1
  if index > #reqs then index = 1 end
  local req = reqs[index]
  if type(req) == "table" then
    seq = seq + 1
    local body = req[4]:gsub("{seq}", tid .. "-" .. seq)
    return wrk.format(req[1], req[2], req[3], body)
  end
  return req
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if sample == "" then sample = tostring(status) .. " " .. (body or "") end
  elseif check and not (body or ""):find(check) then
    bad = bad + 1
    if sample == "" then sample = (body or "") end
  end
end

function done(summary, latency, requests)
  local bad_total, non2xx_total, first = 0, 0, ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    non2xx_total = non2xx_total + t:get("non2xx")
    if first == "" then first = t:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d bad=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, non2xx_total, bad_total, e.connect, e.read, e.write,
    e.timeout))
  local flat = first:sub(1, 300):gsub("[\r\n]", " ")
  io.write("BENCH_SAMPLE " .. flat .. "\n")
end
