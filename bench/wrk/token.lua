-- wrk script for bench/server.sh: every request is the client-credentials grant, POSTed to the
-- path on wrk's command line (/{tenantId}/oauth2/v2.0/token) over wrk's keep-alive connections.
-- The form comes from the TOKEN_FORM environment variable, already URL-encoded, so that the
-- client secret stays out of the process list.
--
-- An issuance counts only as a 200 whose body holds an access token; everything else is
-- counted as bad, and the first bad answer is kept to show why. done() prints one line that
-- bench/server.sh parses:
--   result requests=N duration_us=N p50_us=N p99_us=N bad=N status_errors=N connect_errors=N
--          read_errors=N write_errors=N timeouts=N

local form = os.getenv("TOKEN_FORM")
if form == nil or form == "" then
  error("TOKEN_FORM is not set: the URL-encoded client-credentials form")
end

wrk.method = "POST"
wrk.body = form
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

-- Each wrk thread runs its own copy of this script; setup keeps a handle on every thread so
-- that done can add up their counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

bad = 0
first_bad = nil

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"access_token":"ey', 1, true) then
    bad = bad + 1
    if first_bad == nil then
      first_bad = status .. " " .. string.sub(body, 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total_bad, why = 0, nil
  for _, t in ipairs(threads) do
    total_bad = total_bad + t:get("bad")
    why = why or t:get("first_bad")
  end
  local e = summary.errors
  io.write(string.format(
    "result requests=%d duration_us=%d p50_us=%d p99_us=%d bad=%d status_errors=%d " ..
    "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    total_bad, e.status, e.connect, e.read, e.write, e.timeout))
  if why ~= nil then
    io.write("first bad answer: ", why, "\n")
  end
end
