// CancelToken: a shared flag with callbacks, so a cancel reaches every waiting job at once.
#include <condition_variable>
#include <mutex>

#include "engine/engine.h"

namespace gantry::engine {

struct CancelToken::State {
  std::mutex mu;
  std::condition_variable cv;
  bool cancelled = false;
  int next_id = 1;
  std::map<int, std::function<void()>> callbacks;
};

CancelToken::CancelToken() : state_(std::make_shared<State>()) {}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cancelled;
}

void CancelToken::Cancel() const {
  std::map<int, std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->cancelled) return;
    state_->cancelled = true;
    callbacks.swap(state_->callbacks);
  }
  state_->cv.notify_all();
  // Outside the lock: a callback may cancel another token or take its owner's lock.
  for (auto& [id, fn] : callbacks) fn();
}

int CancelToken::OnCancel(std::function<void()> fn) const {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->cancelled) {
      int id = state_->next_id++;
      state_->callbacks.emplace(id, std::move(fn));
      return id;
    }
  }
  fn();
  return 0;
}

void CancelToken::Forget(int id) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->callbacks.erase(id);
}

bool CancelToken::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->cancelled; });
}

}  // namespace gantry::engine
