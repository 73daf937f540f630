#include "deploy/autoscaler.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "base/fs.h"

namespace gantry::deploy {
namespace {

std::string Num(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), v >= 100 || v == std::floor(v) ? "%.0f" : "%.1f", v);
  return buf;
}

std::string Describe(const ScalingMetric& m) {
  if (m.name == "cpu") return "CPU " + Num(*m.value) + "% per instance (target " + Num(m.target) + "%)";
  return Num(*m.value) + " requests/s per instance (target " + Num(m.target) + ")";
}

std::string Seconds(long long ms) { return std::to_string((ms + 999) / 1000) + " s"; }

}  // namespace

int ScalingMin(const AutoscalingSpec& spec) { return std::max(spec.min, 1); }

int EffectiveInstances(int declared, const AutoscalingSpec& spec, int autoscaled) {
  if (!spec.enabled) return declared;
  const int lo = ScalingMin(spec), hi = std::max(spec.max, lo);
  return std::clamp(autoscaled > 0 ? autoscaled : declared, lo, hi);
}

ScalingDecision DecideScale(const ScalingInput& in) {
  const int lo = std::max(in.min, 1), hi = std::max(in.max, lo);
  ScalingDecision out{in.current, ""};
  if (in.deployment_active) {
    out.reason = "a deployment is active";
    return out;
  }
  if (in.current < lo) return {lo, "below autoscaling.min " + std::to_string(lo)};
  if (in.current > hi) return {hi, "above autoscaling.max " + std::to_string(hi)};

  int out_want = in.current, in_want = 0;
  std::string out_why, in_why, measured;
  bool all_below = true, any = false;
  for (const auto& m : in.metrics) {
    if (m.target <= 0) continue;
    if (!m.value) {
      all_below = false;  // scale in only on complete measurements
      measured += (measured.empty() ? "" : ", ") + m.name + " not measured yet";
      continue;
    }
    any = true;
    const std::string what = Describe(m);
    measured += (measured.empty() ? "" : ", ") + what;
    const double ratio = *m.value / m.target;
    // The count at which the metric would be at its target (the load spread evenly).
    const int at_target = static_cast<int>(std::ceil(in.current * ratio - 1e-9));
    if (ratio > 1 + kScaleTolerance) {
      const int want = std::max(at_target, in.current + 1);
      if (want > out_want) out_want = want, out_why = what;
    }
    if (ratio < 1 - kScaleTolerance) {
      in_want = std::max(in_want, std::max(at_target, (in.current + 1) / 2));  // at most halve per step
      in_why += (in_why.empty() ? "" : ", ") + what;
    } else {
      all_below = false;
    }
  }
  if (!any) {
    out.reason = measured.empty() ? "nothing to measure" : measured;
    return out;
  }
  if (out_want > in.current) {
    if (in.current >= hi) {
      out.reason = "at autoscaling.max " + std::to_string(hi) + ": " + out_why;
      return out;
    }
    const long long since = in.now_ms - in.last_scale_out_ms;
    if (in.last_scale_out_ms > 0 && since < in.scale_out_cooldown_ms) {
      out.reason = "scale-out cooldown (" + Seconds(in.scale_out_cooldown_ms - since) + " left): " + out_why;
      return out;
    }
    return {std::min(out_want, hi), out_why};
  }
  if (all_below && in.current <= lo) {
    out.reason = "at autoscaling.min " + std::to_string(lo) + ": " + in_why;
    return out;
  }
  if (all_below && in_want < in.current) {
    const long long last = std::max(in.last_scale_in_ms, in.last_scale_out_ms);
    const long long since = in.now_ms - last;
    if (last > 0 && since < in.scale_in_cooldown_ms) {
      out.reason = "scale-in cooldown (" + Seconds(in.scale_in_cooldown_ms - since) + " left): " + in_why;
      return out;
    }
    return {std::max(in_want, lo), in_why};
  }
  out.reason = measured;
  return out;
}

std::map<int, double> SessionCpuSeconds(const std::vector<int>& sessions) {
  static const double kTicks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::map<int, double> out;
  const std::set<int> wanted(sessions.begin(), sessions.end());
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    auto stat = ReadFile(std::string("/proc/") + e->d_name + "/stat", 4096);
    if (!stat.ok()) continue;  // exited meanwhile
    const auto close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) continue;
    // After the command: state ppid pgrp session ... utime(12th) stime cutime cstime.
    std::vector<std::string> f;
    std::string cur;
    for (char c : stat->substr(close + 2)) {
      if (c == ' ' || c == '\n') {
        if (!cur.empty()) f.push_back(std::move(cur));
        cur.clear();
        if (f.size() > 14) break;
      } else {
        cur += c;
      }
    }
    if (f.size() < 15) continue;
    const int session = std::atoi(f[3].c_str());
    if (!wanted.count(session)) continue;
    // Children's times (cutime, cstime) count too: a child reaped inside the session moves
    // its time there, so the sum only grows.
    double ticks = 0;
    for (int k = 11; k <= 14; ++k) ticks += std::atof(f[k].c_str());
    out[session] += ticks / kTicks;
  }
  ::closedir(dir);
  return out;
}

ScalingSample SystemScalingMetrics::Measure(const std::string& group, const std::vector<Instance>& instances,
                                            int serving, long long now_ms) {
  Window& w = windows_[group];
  const bool have_window = w.at_ms > 0 && now_ms > w.at_ms;
  const double seconds = have_window ? (now_ms - w.at_ms) / 1000.0 : 0;
  ScalingSample out;

  std::vector<int> pids;
  for (const auto& i : instances)
    if (i.pid > 0) pids.push_back(i.pid);
  const auto cpu = SessionCpuSeconds(pids);
  std::map<std::string, std::pair<int, double>> next;
  double sum = 0;
  int measured = 0;
  for (const auto& i : instances) {
    auto it = cpu.find(i.pid);
    if (i.pid <= 0 || it == cpu.end()) continue;
    next[i.id] = {i.pid, it->second};
    auto prev = w.cpu.find(i.id);
    // A restarted instance (another pid) starts a new window.
    if (!have_window || prev == w.cpu.end() || prev->second.first != i.pid || it->second < prev->second.second)
      continue;
    sum += (it->second - prev->second.second) / seconds * 100;
    ++measured;
  }
  if (measured > 0) out.cpu_percent = sum / measured;
  w.cpu = std::move(next);

  if (router_ != nullptr) {
    const uint64_t requests = router_->Stats(group).requests;
    // Counters that went down belong to a restarted load balancer: a new window.
    if (have_window && w.has_requests && requests >= w.requests && serving > 0)
      out.requests_per_second = (requests - w.requests) / seconds / serving;
    w.requests = requests;
    w.has_requests = true;
  }
  w.at_ms = now_ms;
  return out;
}

}  // namespace gantry::deploy
