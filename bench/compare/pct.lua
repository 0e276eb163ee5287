-- wrk script for bench/compare.sh: prints one parseable line with p50/p99/p99.9 (µs),
-- the request count and the error counts after the run.
done = function(summary, latency, requests)
   io.write(string.format(
      "COMPARE requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d "
      .. "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max,
      summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout))
end
