// The scheduler against a fake JobRunner: no processes, only the engine's decisions.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "engine/engine.h"
#include "workflow/reader.h"

namespace gantry::engine {
namespace {

// Scripted behaviour per job id: result, outputs, or block until cancelled.
class FakeRunner : public JobRunner {
 public:
  struct Script {
    JobResult result = JobResult::kSuccess;
    std::map<std::string, std::string> outputs;
    bool block_until_cancelled = false;
    // Fail only for this matrix value of key "v" (display form); empty = always.
    std::string fail_when_v;
  };
  std::map<std::string, Script> scripts;

  JobOutcome RunJob(const JobRun& run, const CancelToken& cancel) override {
    int now = ++active_;
    {
      std::lock_guard<std::mutex> lock(mu_);
      peak_ = std::max(peak_, now);
      started.push_back(run.display_name);
      runs.push_back(run);
    }
    Script s = scripts[run.job->id];
    JobOutcome out;
    out.outputs = s.outputs;
    if (s.block_until_cancelled) {
      while (!cancel.WaitFor(std::chrono::milliseconds(50))) {
      }
      out.result = JobResult::kCancelled;
    } else {
      // Give other workers a chance to overlap so the parallelism bounds are exercised.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const expr::Value* v = run.matrix.Find("v");
      bool fail = s.fail_when_v.empty() || (v && v->ToDisplayString() == s.fail_when_v);
      out.result = s.result == JobResult::kFailure && !fail ? JobResult::kSuccess : s.result;
    }
    --active_;
    return out;
  }

  int peak() {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }
  std::vector<std::string> started;
  std::vector<JobRun> runs;

 private:
  std::mutex mu_;
  std::atomic<int> active_{0};
  int peak_ = 0;
};

struct Fixture {
  workflow::Workflow wf;
  Plan plan;
};

std::unique_ptr<Fixture> Load(const std::string& yaml) {
  auto f = std::make_unique<Fixture>();
  workflow::ReadResult r = workflow::ReadWorkflow(yaml, "w.yml");
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  if (!r.ok()) return f;
  f->wf = *r.workflow;
  Result<Plan> p = PlanWorkflow(f->wf);
  EXPECT_TRUE(p.ok()) << p.error();
  if (p.ok()) f->plan = *p;
  return f;
}

std::map<std::string, std::string> Results(const RunSummary& s) {
  std::map<std::string, std::string> out;
  for (const auto& i : s.instances) out[i.display_name] = ResultName(i.outcome.result);
  return out;
}

TEST(Scheduler, NeedsOutputsAndStatusFunctions) {
  auto f = Load(R"(on: push
jobs:
  a:
    runs-on: x
    outputs:
      v: ${{ steps.s.outputs.v }}
    steps: [run: x]
  b:
    needs: a
    if: needs.a.outputs.v == '1' && needs.a.result == 'success'
    runs-on: x
    steps: [run: x]
  c:
    needs: a
    if: needs.a.outputs.v == '2'
    runs-on: x
    steps: [run: x]
  d:
    needs: c
    runs-on: x
    steps: [run: x]
  e:
    needs: c
    if: always()
    runs-on: x
    steps: [run: x]
  f:
    needs: c
    if: failure()
    runs-on: x
    steps: [run: x]
  bad:
    runs-on: x
    steps: [run: x]
  onfail:
    needs: bad
    if: failure()
    runs-on: x
    steps: [run: x]
  after:
    needs: onfail
    if: failure()
    runs-on: x
    steps: [run: x]
  plain:
    needs: onfail
    runs-on: x
    steps: [run: x]
  named:
    needs: [a, bad]
    if: success('a') && failure('bad')
    runs-on: x
    steps: [run: x]
  named_bad:
    needs: [a, bad]
    if: success('a', 'bad')
    runs-on: x
    steps: [run: x]
)");
  FakeRunner runner;
  runner.scripts["a"].outputs = {{"v", "1"}};
  runner.scripts["bad"].result = JobResult::kFailure;
  SchedulerOptions opts;
  opts.parallel = 2;
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto r = Results(s);
  EXPECT_EQ(r["a"], "success");
  EXPECT_EQ(r["b"], "success");
  EXPECT_EQ(r["c"], "skipped");
  EXPECT_EQ(r["d"], "skipped");  // success() is false after a skipped need
  EXPECT_EQ(r["e"], "success");  // always()
  EXPECT_EQ(r["f"], "skipped");  // no failure either
  EXPECT_EQ(r["bad"], "failure");
  EXPECT_EQ(r["onfail"], "success");
  EXPECT_EQ(r["after"], "success");  // failure() looks at every ancestor
  EXPECT_EQ(r["plain"], "skipped");  // success() is false while an ancestor failed
  EXPECT_EQ(r["named"], "success");  // status functions naming jobs of needs
  EXPECT_EQ(r["named_bad"], "skipped");
  EXPECT_FALSE(s.success);
  for (const JobRun& run : runner.runs) {
    if (run.job->id == "b") {
      EXPECT_EQ(run.needs.Find("a")->Find("outputs")->Find("v")->string_value(), "1");
      EXPECT_EQ(run.needs.Find("a")->Find("result")->string_value(), "success");
    }
  }
}

TEST(Scheduler, ParallelAndMaxParallelBoundConcurrency) {
  auto f = Load(R"(on: push
jobs:
  m:
    runs-on: x
    strategy:
      max-parallel: 2
      matrix:
        v: [1, 2, 3, 4, 5, 6]
    steps: [run: x]
)");
  FakeRunner runner;
  SchedulerOptions opts;
  opts.parallel = 8;
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  EXPECT_TRUE(s.success);
  EXPECT_EQ(s.instances.size(), 6u);
  EXPECT_LE(runner.peak(), 2);

  FakeRunner one;
  opts.parallel = 1;
  Scheduler(one, opts).Run({f->plan});
  EXPECT_EQ(one.peak(), 1);
  EXPECT_EQ(one.started.front(), "m (1)");
  for (const JobRun& run : one.runs) {
    EXPECT_EQ(run.strategy.Find("job-total")->number_value(), 6);
    EXPECT_EQ(run.strategy.Find("max-parallel")->number_value(), 2);
  }
}

TEST(Scheduler, FailFastCancelsTheRestOfTheMatrix) {
  auto f = Load(R"(on: push
jobs:
  m:
    runs-on: x
    strategy:
      matrix:
        v: [1, 2, 3]
    steps: [run: x]
  n:
    runs-on: x
    strategy:
      fail-fast: false
      matrix:
        v: [1, 2, 3]
    steps: [run: x]
)");
  FakeRunner runner;
  runner.scripts["m"].result = JobResult::kFailure;
  runner.scripts["m"].fail_when_v = "1";
  runner.scripts["n"].result = JobResult::kFailure;
  runner.scripts["n"].fail_when_v = "1";
  SchedulerOptions opts;
  opts.parallel = 1;  // m (1) runs alone and fails before the others start
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto r = Results(s);
  EXPECT_EQ(r["m (1)"], "failure");
  EXPECT_EQ(r["m (2)"], "cancelled");
  EXPECT_EQ(r["m (3)"], "cancelled");
  EXPECT_EQ(r["n (1)"], "failure");
  EXPECT_EQ(r["n (2)"], "success");
  EXPECT_EQ(r["n (3)"], "success");
}

TEST(Scheduler, FailFastCancelsRunningInstances) {
  auto f = Load(R"(on: push
jobs:
  m:
    runs-on: x
    strategy:
      matrix:
        v: [1, 2]
    steps: [run: x]
)");
  class Runner : public JobRunner {
   public:
    JobOutcome RunJob(const JobRun& run, const CancelToken& cancel) override {
      if (run.matrix.Find("v")->number_value() == 1) {
        while (!cancel.WaitFor(std::chrono::milliseconds(50))) {
        }
        return {JobResult::kCancelled, {}};
      }
      return {JobResult::kFailure, {}};
    }
  } runner;
  SchedulerOptions opts;
  opts.parallel = 2;
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto r = Results(s);
  EXPECT_EQ(r["m (1)"], "cancelled");
  EXPECT_EQ(r["m (2)"], "failure");
}

TEST(Scheduler, ContinueOnErrorKeepsTheRunGreen) {
  auto f = Load(R"(on: push
jobs:
  m:
    runs-on: x
    continue-on-error: ${{ matrix.v == 2 }}
    strategy:
      matrix:
        v: [1, 2]
    steps: [run: x]
  next:
    needs: m
    runs-on: x
    steps: [run: x]
)");
  FakeRunner runner;
  runner.scripts["m"].result = JobResult::kFailure;
  runner.scripts["m"].fail_when_v = "2";
  SchedulerOptions opts;
  opts.parallel = 1;
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto r = Results(s);
  EXPECT_EQ(r["m (2)"], "failure");
  EXPECT_EQ(r["m (1)"], "success");  // not cancelled by fail-fast: the failure was allowed
  EXPECT_EQ(r["next"], "success");
  EXPECT_TRUE(s.success);
}

TEST(Scheduler, CancellationReachesRunningJobsAndAlwaysStillRuns) {
  auto f = Load(R"(on: push
jobs:
  long:
    runs-on: x
    steps: [run: x]
  later:
    needs: long
    runs-on: x
    steps: [run: x]
  cleanup:
    needs: long
    if: always()
    runs-on: x
    steps: [run: x]
)");
  FakeRunner runner;
  runner.scripts["long"].block_until_cancelled = true;
  SchedulerOptions opts;
  opts.parallel = 2;
  CancelToken cancel = opts.cancel;
  opts.observer.job_started = [cancel](const JobRun& run) {
    if (run.job->id == "long") cancel.Cancel();  // Ctrl-C while the job runs
  };
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto r = Results(s);
  EXPECT_EQ(r["long"], "cancelled");
  EXPECT_EQ(r["later"], "cancelled");
  EXPECT_EQ(r["cleanup"], "success");
  EXPECT_TRUE(s.cancelled);
  EXPECT_FALSE(s.success);
}

TEST(Scheduler, DeferredMatrixFromNeedsOutputs) {
  auto f = Load(R"(on: push
jobs:
  setup:
    runs-on: x
    outputs:
      m: ${{ steps.s.outputs.m }}
    steps: [run: x]
  build:
    needs: setup
    name: build-${{ matrix.v }}
    runs-on: x
    strategy:
      matrix: ${{ fromJSON(needs.setup.outputs.m) }}
    steps: [run: x]
)");
  FakeRunner runner;
  runner.scripts["setup"].outputs = {{"m", R"({"v":["x","y"],"include":[{"v":"x","extra":1}]})"}};
  SchedulerOptions opts;
  opts.parallel = 1;
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto r = Results(s);
  EXPECT_EQ(r["build-x"], "success");
  EXPECT_EQ(r["build-y"], "success");
  EXPECT_TRUE(s.success);
}

TEST(Scheduler, ABadMatrixExpressionFailsTheJobWithAPosition) {
  auto f = Load(R"(on: push
jobs:
  build:
    runs-on: x
    strategy:
      matrix: ${{ fromJSON('[1]') }}
    steps: [run: x]
)");
  FakeRunner runner;
  SchedulerOptions opts;
  std::vector<std::string> errors;
  opts.observer.error = [&](const std::string& m) { errors.push_back(m); };
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  EXPECT_FALSE(s.success);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("w.yml:6:15: ", 0), 0u) << errors[0];
  EXPECT_TRUE(runner.started.empty());
}

TEST(Scheduler, SeveralWorkflowsShareTheSlots) {
  auto a = Load("on: push\njobs:\n  one:\n    runs-on: x\n    steps: [run: x]\n");
  auto b = Load("on: push\njobs:\n  two:\n    runs-on: x\n    steps: [run: x]\n");
  FakeRunner runner;
  SchedulerOptions opts;
  opts.parallel = 1;
  RunSummary s = Scheduler(runner, opts).Run({a->plan, b->plan});
  EXPECT_EQ(s.instances.size(), 2u);
  EXPECT_EQ(runner.peak(), 1);
  EXPECT_TRUE(s.success);
}

}  // namespace
}  // namespace gantry::engine

namespace gantry::engine {
namespace {

TEST(Scheduler, ConcurrencyHookSeesEvaluatedGroups) {
  auto f = Load(R"(on: push
jobs:
  deploy:
    runs-on: x
    concurrency:
      group: deploy-${{ matrix.env }}
      cancel-in-progress: true
    strategy:
      matrix:
        env: [a, b]
    steps: [run: x]
)");
  class Hook : public ConcurrencyHook {
   public:
    Status Enter(const std::string& group, bool cancel, const CancelToken&) override {
      std::lock_guard<std::mutex> lock(mu);
      entered.push_back(group + (cancel ? "!" : ""));
      return group == "deploy-b" ? Status::Error("group is locked") : Status::Ok();
    }
    void Leave(const std::string& group) override {
      std::lock_guard<std::mutex> lock(mu);
      left.push_back(group);
    }
    std::mutex mu;
    std::vector<std::string> entered, left;
  } hook;
  FakeRunner runner;
  SchedulerOptions opts;
  opts.parallel = 1;
  opts.concurrency = &hook;
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  EXPECT_EQ(hook.entered, (std::vector<std::string>{"deploy-a!", "deploy-b!"}));
  EXPECT_EQ(hook.left, std::vector<std::string>{"deploy-a"});
  auto r = Results(s);
  EXPECT_EQ(r["deploy (a)"], "success");
  EXPECT_EQ(r["deploy (b)"], "failure");
}

}  // namespace
}  // namespace gantry::engine

namespace gantry::engine {
namespace {

TEST(Scheduler, IncludeListFromAnExpression) {
  auto f = Load(R"(on: push
jobs:
  setup:
    runs-on: x
    outputs:
      extra: ${{ steps.s.outputs.extra }}
    steps: [run: x]
  build:
    needs: setup
    runs-on: x
    strategy:
      matrix:
        v: [1]
        include: ${{ fromJSON(needs.setup.outputs.extra) }}
    steps: [run: x]
)");
  FakeRunner runner;
  runner.scripts["setup"].outputs = {{"extra", R"([{"v":1,"flag":"on"},{"v":2}])"}};
  SchedulerOptions opts;
  opts.parallel = 1;
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto r = Results(s);
  EXPECT_EQ(r["build (1, on)"], "success");
  EXPECT_EQ(r["build (2)"], "success");
  EXPECT_EQ(s.instances.size(), 3u);
}

// The EnvironmentGate holds a protected job without a parallel slot (a job not needing it
// runs meanwhile), lets it start when it says so, and fails what it refuses.
class ScriptedGate : public EnvironmentGate {
 public:
  GateAnswer Check(const JobRun& run, const std::string& environment) override {
    std::lock_guard<std::mutex> lock(mu);
    asked.push_back(run.display_name + "@" + environment);
    if (environment == "refused") return {GateAnswer::Kind::kFail, "rejected by carol"};
    return {open ? GateAnswer::Kind::kProceed : GateAnswer::Kind::kWait, ""};
  }
  std::mutex mu;
  bool open = false;
  std::vector<std::string> asked;
};

TEST(Scheduler, EnvironmentGateHoldsRefusesAndReleasesJobs) {
  auto f = Load(R"(on: push
jobs:
  deploy:
    runs-on: x
    environment: ${{ 'prod' }}
    steps: [run: x]
  after:
    needs: deploy
    runs-on: x
    steps: [run: x]
  other:
    runs-on: x
    steps: [run: x]
  refused:
    runs-on: x
    environment: {name: refused, url: "https://x"}
    steps: [run: x]
  later:
    needs: refused
    runs-on: x
    steps: [run: x]
)");
  FakeRunner runner;
  ScriptedGate gate;
  SchedulerOptions opts;
  opts.parallel = 1;  // `other` runs although `deploy` waits: waiting holds no slot
  opts.gate = &gate;
  opts.gate_poll = std::chrono::milliseconds(10);
  std::vector<std::string> errors, finished;
  std::mutex mu;
  opts.observer.error = [&](const std::string& m) { errors.push_back(m); };
  opts.observer.job_finished = [&](const JobRun& r, const JobOutcome&) {
    std::lock_guard<std::mutex> lock(mu);
    finished.push_back(r.display_name);
    if (r.display_name == "other") {
      std::lock_guard<std::mutex> g(gate.mu);
      gate.open = true;
    }
  };
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  auto results = Results(s);
  EXPECT_EQ(results["deploy"], "success");
  EXPECT_EQ(results["after"], "success");
  EXPECT_EQ(results["other"], "success");
  EXPECT_EQ(results["refused"], "failure");
  EXPECT_EQ(results["later"], "skipped");
  EXPECT_FALSE(s.success);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "refused: rejected by carol");
  EXPECT_NE(std::find(gate.asked.begin(), gate.asked.end(), "deploy@prod"), gate.asked.end());
  // `other` started before `deploy`, which was held until `other` opened the gate.
  auto pos = [&](const std::string& n) { return std::find(runner.started.begin(), runner.started.end(), n); };
  EXPECT_LT(pos("other"), pos("deploy"));
  EXPECT_EQ(std::count(finished.begin(), finished.end(), "refused"), 1);
}

TEST(Scheduler, CancelEndsHeldJobsAndSeededJobsAreNotRunAgain) {
  auto f = Load(R"(on: push
jobs:
  build:
    runs-on: x
    steps: [run: x]
  deploy:
    needs: build
    if: needs.build.outputs.v == '7'
    runs-on: x
    environment: prod
    steps: [run: x]
)");
  FakeRunner runner;
  ScriptedGate gate;
  SchedulerOptions opts;
  opts.gate = &gate;
  opts.gate_poll = std::chrono::milliseconds(10);
  opts.completed["build"] = CompletedJob{JobResult::kSuccess, {{"v", "7"}}};
  std::atomic<int> finished{0};
  opts.observer.job_finished = [&](const JobRun&, const JobOutcome& o) {
    if (o.result == JobResult::kCancelled) ++finished;
  };
  std::thread canceller([&] {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(gate.mu);
        if (!gate.asked.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    opts.cancel.Cancel();
  });
  RunSummary s = Scheduler(runner, opts).Run({f->plan});
  canceller.join();
  EXPECT_TRUE(runner.started.empty());
  EXPECT_EQ(Results(s)["deploy"], "cancelled");
  EXPECT_EQ(finished.load(), 1);  // the held job is reported as it ends
  EXPECT_TRUE(s.cancelled);
}

}  // namespace
}  // namespace gantry::engine
