// Monitor throughput: metric updates, time-series ingest, sampling and /metrics rendering for
// 10,000 series, StatsD parsing. Bounded (a few seconds); prints one line per measurement.
//   cmake -DGANTRY_BENCH=ON ... && build/bench_monitor_monitor_bench
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "monitor/exposition.h"
#include "monitor/metrics.h"
#include "monitor/push.h"
#include "monitor/tsdb.h"

using namespace gantry::monitor;  // NOLINT: a benchmark program
using Steady = std::chrono::steady_clock;

static double Seconds(Steady::time_point since) { return std::chrono::duration<double>(Steady::now() - since).count(); }

int main() {
  // 1. Counter increments on the hot path.
  {
    Registry r;
    Counter* c = r.GetCounter("bench_total", "B.");
    const int n = 50'000'000;
    auto t = Steady::now();
    for (int i = 0; i < n; ++i) c->Inc();
    double s = Seconds(t);
    std::printf("counter Inc, 1 thread:           %8.1f M/s\n", n / s / 1e6);
    t = Steady::now();
    std::vector<std::thread> threads;
    for (int k = 0; k < 2; ++k) {
      threads.emplace_back([c] {
        for (int i = 0; i < 25'000'000; ++i) c->Inc();
      });
    }
    for (auto& th : threads) th.join();
    std::printf("counter Inc, 2 threads:          %8.1f M/s total\n", n / Seconds(t) / 1e6);
    Histogram* h = r.GetHistogram("bench_seconds", "B.");
    t = Steady::now();
    for (int i = 0; i < 10'000'000; ++i) h->Observe((i % 1000) * 0.001);
    std::printf("histogram Observe, 1 thread:     %8.1f M/s\n", 10.0 / Seconds(t));
  }
  // 2. /metrics for 10,000 series (9,000 counters and gauges + 1,000 histograms of 14 buckets
  //    would be 17,000 lines; measured separately).
  {
    Registry r;
    for (int i = 0; i < 10'000; ++i) {
      r.GetCounter("gantry_lb_responses_total", "Responses.",
                   {{"target_group", "tg" + std::to_string(i / 100)}, {"target", "t" + std::to_string(i % 100)}})
          ->Inc(i);
    }
    std::string out;
    RenderPrometheus(r, &out);  // warm up
    const int reps = 50;
    auto t = Steady::now();
    for (int k = 0; k < reps; ++k) {
      out.clear();
      RenderPrometheus(r, &out);
    }
    std::printf("/metrics, 10,000 counter series: %8.2f ms per render (%zu bytes)\n", Seconds(t) / reps * 1e3,
                out.size());
    Registry hr;
    for (int i = 0; i < 1'000; ++i) {
      hr.GetHistogram("gantry_lb_target_response_seconds", "RT.", {{"target", "t" + std::to_string(i)}})
          ->Observe(i * 0.01);
    }
    t = Steady::now();
    for (int k = 0; k < reps; ++k) {
      out.clear();
      RenderPrometheus(hr, &out);
    }
    std::printf("/metrics, 1,000 histograms:      %8.2f ms per render (%zu bytes)\n", Seconds(t) / reps * 1e3,
                out.size());

    // 3. Sampling the 10,000 series into the store and flushing (the 10 s loop).
    TsdbOptions o;
    auto store = std::move(TimeSeriesStore::Open(o).value());
    RegistrySampler sampler(&r, store.get());
    int64_t now = 1'700'000'000'000;
    t = Steady::now();
    for (int k = 0; k < 20; ++k) {
      now += 10'000;
      (void)sampler.Sample(now);
      (void)store->Flush(now);
    }
    std::printf("sample + flush, 10,000 series:   %8.2f ms per step\n", Seconds(t) / 20 * 1e3);
  }
  // 4. Raw ingest into the time-series store.
  {
    TsdbOptions o;
    auto store = std::move(TimeSeriesStore::Open(o).value());
    std::vector<Labels> labels;
    for (int i = 0; i < 10'000; ++i) labels.push_back({{"instance", "i" + std::to_string(i)}});
    const int n = 2'000'000;
    int64_t t0 = 1'700'000'000'000;
    auto t = Steady::now();
    for (int i = 0; i < n; ++i) (void)store->Record("cpu", labels[i % 10'000], i % 100, t0 + i / 10);
    std::printf("tsdb Record, 10,000 series:      %8.2f M samples/s\n", n / Seconds(t) / 1e6);
  }
  // 5. StatsD lines.
  {
    std::string text;
    for (int i = 0; i < 100'000; ++i) text += "web.requests:1|c|@0.5|#service:web,code:200\n";
    auto t = Steady::now();
    auto s = ParseStatsd(text, "bench", PushLimits{1 << 30, 1'000'000, 4096, 16});
    double secs = Seconds(t);
    std::printf("StatsD parse:                    %8.2f M lines/s (%zu)\n", 0.1 / secs, s.ok() ? s->size() : 0);
  }
  return 0;
}
