-- wrk sends the requests of a file (raw HTTP requests separated by NUL bytes): thread k of
-- n takes requests k, k + n, k + 2n, ... With "once", a thread that runs out sends its last
-- request again and records a repeat, so the benchmark can call the run void; with "cycle"
-- it starts its share over. Each response's status and "consultation_id" (or "-") go to
-- <prefix>.<thread>, a line each.
--   wrk -t N ... -s bench/wrk_requests.lua URL -- REQUESTS_FILE N PREFIX once|cycle

local made = 0

function setup(thread)
  thread:set("id", made)
  made = made + 1
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local content = file:read("*a")
  file:close()
  local stride = tonumber(args[2])
  requests = {}
  local index, position = 0, 1
  while position <= #content do
    local stop = string.find(content, "\0", position, true) or (#content + 1)
    if index % stride == id then
      requests[#requests + 1] = string.sub(content, position, stop - 1)
    end
    index = index + 1
    position = stop + 1
  end
  next_request = 1
  cycle = args[4] == "cycle"
  answers = assert(io.open(args[3] .. "." .. id, "w"))
  answers:setvbuf("line")
end

function request()
  local raw = requests[next_request]
  if raw == nil and cycle then
    next_request = 1
    raw = requests[1]
  elseif raw == nil then
    raw = requests[#requests]
    answers:write("repeat\n")
  end
  next_request = next_request + 1
  return raw
end

function response(status, headers, body)
  answers:write(status, " ", string.match(body, '"consultation_id":%s*(%d+)') or "-", "\n")
end

function done(summary, latency, requests)
  io.write(string.format("wrk-summary %d %d %.1f %.1f\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
