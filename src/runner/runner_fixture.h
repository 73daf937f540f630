// Test-only: a RunnerTest fixture that reads a workflow and runs it through the engine's
// Scheduler and the real Runner, capturing everything the sink sees. Shared by the runner's
// *_test.cc files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fs.h"
#include "engine/engine.h"
#include "runner/runner.h"
#include "workflow/reader.h"

namespace gantry::runner {

class CaptureSink : public OutputSink {
 public:
  void StepStarted(const std::string&, const std::string& step) override { Add("start " + step); }
  void Line(const std::string&, std::string_view line, bool) override { Add("| " + std::string(line)); }
  void GroupStarted(const std::string&, std::string_view t) override { Add("group " + std::string(t)); }
  void GroupEnded(const std::string&) override { Add("endgroup"); }
  void Debug(const std::string&, std::string_view m) override { Add("debug " + std::string(m)); }
  void AnnotationAdded(const Annotation& a) override {
    Add("annotation " + a.level + " " + a.file + ":" + std::to_string(a.line) + " " + a.message);
  }
  void StepFinished(const std::string&, const std::string& step, StepConclusion o, StepConclusion c, double) override {
    Add(std::string("end ") + ConclusionName(o) + "/" + ConclusionName(c) + " " + step);
  }
  void Error(const std::string&, std::string_view m) override { Add("error " + std::string(m)); }
  void StepSummary(const std::string&, std::string_view md) override { Add("summary " + std::string(md)); }

  std::string All() {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (auto& s : lines_) out += s + "\n";
    return out;
  }

 private:
  void Add(std::string s) {
    std::lock_guard<std::mutex> l(mu_);
    lines_.push_back(std::move(s));
  }
  std::mutex mu_;
  std::vector<std::string> lines_;
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("gantry-runner-test");
    ASSERT_TRUE(d.ok());
    dir_ = *d;
    MakeDirs(dir_ + "/ws");
    MakeDirs(dir_ + "/tmp");
  }
  void TearDown() override { RemoveAll(dir_); }

  // Cancels once a step has created ws/<file> (or after 10 s); join the thread after Run.
  std::thread CancelWhenCreated(engine::CancelToken& cancel, const std::string& file) {
    return std::thread([this, &cancel, file] {
      for (int i = 0; i < 500 && !PathExists(dir_ + "/ws/" + file); ++i) usleep(20000);
      cancel.Cancel();
    });
  }

  engine::RunSummary Run(const std::string& yaml, engine::CancelToken cancel = {}) {
    auto rr = workflow::ReadWorkflow(yaml, dir_ + "/ws/.github/workflows/test.yml", read_options_);
    EXPECT_TRUE(rr.ok()) << rr.ErrorText();
    if (!rr.ok()) return {};
    wf_ = std::move(*rr.workflow);
    auto plan = engine::PlanWorkflow(wf_);
    EXPECT_TRUE(plan.ok()) << plan.error();
    RunnerOptions o;
    o.workspace = dir_ + "/ws";
    o.repository = o.workspace;
    o.temp_root = dir_ + "/tmp";
    o.masker = &masker_;
    o.sink = &sink_;
    o.secrets = {{"TOKEN", "very-secret-value"}};
    o.host_env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir_};
    o.kill_grace_ms = 300;
    masker_.Add("very-secret-value");
    if (configure_) configure_(o);
    store_ = MakeLocalStore(dir_ + "/store");
    o.store = store_.get();
    RunInfo info;
    info.workspace = o.workspace;
    info.sha = std::string(40, 'a');
    info.ref = "refs/heads/main";
    engine::SchedulerOptions so;
    so.parallel = 2;
    so.github = BuildGithubContext(info);
    so.cancel = cancel;
    Runner runner(o);
    engine::Scheduler s(runner, so);
    return s.Run({*plan});
  }

  std::string dir_;
  workflow::ReadOptions read_options_;
  std::function<void(RunnerOptions&)> configure_;  // tweaks the options before the run
  workflow::Workflow wf_;
  Masker masker_;
  CaptureSink sink_;
  std::unique_ptr<ActionStore> store_;
};

}  // namespace gantry::runner
