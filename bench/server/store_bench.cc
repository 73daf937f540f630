// bench/server/store_bench: 10,000 runs in the store, then the p50/p99 latency of listing a
// page (50 runs, newest first, random positions via before=) on SQLite and on a throwaway
// PostgreSQL (when its binaries are installed); then log ingest throughput with masking
// (runner::Masker + Store::AppendLog in 2000-line batches, as the server's sink does).
//   bench_server_store_bench [RUNS] [LOG_MB]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "base/fs.h"
#include "runner/masker.h"
#include "store/postgres_test_server.h"
#include "store/store.h"

using namespace gantry;
using Clock = std::chrono::steady_clock;

static double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

static void Bench(const char* label, store::Store& s, int runs, int log_mb) {
  auto p = s.CreateProject("bench");
  auto t0 = Clock::now();
  store::Run r;
  r.project_id = p->id;
  r.workflow = ".github/workflows/ci.yml";
  r.workflow_name = "CI";
  r.event = "push";
  r.ref = "refs/heads/main";
  r.sha = std::string(40, 'a');
  int64_t last = 0;
  for (int i = 0; i < runs; ++i) last = s.CreateRun(r)->id;
  double insert_ms = Ms(Clock::now() - t0);
  std::mt19937 rng(1);
  std::vector<double> lat;
  for (int i = 0; i < 500; ++i) {
    store::RunFilter f;
    f.project_id = i % 2 ? p->id : 0;
    f.before_id = i % 5 == 0 ? 0 : static_cast<int64_t>(rng() % static_cast<uint32_t>(last)) + 1;
    f.limit = 50;
    auto t = Clock::now();
    auto page = s.ListRuns(f);
    lat.push_back(Ms(Clock::now() - t));
    if (!page.ok()) std::fprintf(stderr, "%s\n", page.error().c_str());
  }
  std::sort(lat.begin(), lat.end());
  std::printf("%-10s %d runs inserted in %.0f ms; list page p50 %.2f ms, p99 %.2f ms\n", label, runs, insert_ms,
              lat[lat.size() / 2], lat[lat.size() * 99 / 100]);

  store::Job j;
  j.run_id = last;
  j.job_key = "log";
  auto job = s.CreateJob(j);
  runner::Masker masker;
  masker.Add("s3cr3t-value");
  masker.Add("another-secret");
  std::string line = "2026-01-01T00:00:00Z compiling src/some/file_number.cc with flags -O2 -g s3cr3t-value ok";
  size_t bytes = 0, target = static_cast<size_t>(log_mb) << 20;
  std::vector<std::string> batch;
  auto t1 = Clock::now();
  int64_t step = 1;
  while (bytes < target) {
    batch.push_back(masker.Mask(line));
    bytes += line.size() + 1;
    if (batch.size() == 2000) {
      (void)s.AppendLog(*job, step, batch);
      batch.clear();
    }
  }
  (void)s.AppendLog(*job, step, batch);
  double ingest_s = Ms(Clock::now() - t1) / 1000;
  auto t2 = Clock::now();
  (void)s.CompressStepLog(*job, step);
  std::printf("%-10s log ingest with masking: %d MB in %.2f s = %.1f MB/s; compress step %.0f ms\n", label, log_mb,
              ingest_s, log_mb / ingest_s, Ms(Clock::now() - t2));
}

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 10000;
  int log_mb = argc > 2 ? std::atoi(argv[2]) : 50;
  auto dir = MakeTempDir("gantry-bench-");
  {
    auto s = store::Store::Open(*dir + "/sqlite");
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.error().c_str()), 1;
    Bench("sqlite", **s, runs, log_mb);
  }
  {
    store::testing::PostgresTestServer pg;
    if (!pg.available()) {
      std::printf("postgres   skipped: %s\n", pg.why().c_str());
    } else {
      auto s = store::Store::Open(*dir + "/pg", pg.NewDatabase("bench"));
      if (!s.ok()) return std::fprintf(stderr, "%s\n", s.error().c_str()), 1;
      Bench("postgres", **s, runs, log_mb);
    }
  }
  (void)RemoveAll(*dir);
  return 0;
}
