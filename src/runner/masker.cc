#include "runner/masker.h"

#include <algorithm>

#include "base/strings.h"

namespace gantry::runner {

namespace {
constexpr size_t kMaxValues = 10000;
}

void Masker::Add(std::string_view value) {
  std::vector<std::string_view> pieces;
  pieces.push_back(value);
  if (value.find('\n') != std::string_view::npos || value.find('\r') != std::string_view::npos) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find_first_of("\r\n", start);
      if (end == std::string_view::npos) end = value.size();
      pieces.push_back(value.substr(start, end - start));
      start = end + 1;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto piece : pieces) {
    piece = Trim(piece);
    if (piece.size() < 2 || values_.size() >= kMaxValues) continue;
    std::string v(piece);
    if (std::find(values_.begin(), values_.end(), v) != values_.end()) continue;
    auto pos = std::find_if(values_.begin(), values_.end(), [&](const std::string& s) { return s.size() < v.size(); });
    values_.insert(pos, std::move(v));
  }
}

bool Masker::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return values_.empty();
}

std::string Masker::Mask(std::string_view text) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out(text);
  for (const auto& v : values_) {
    if (out.find(v) == std::string::npos) continue;
    out = ReplaceAll(out, v, "***");
  }
  return out;
}

}  // namespace gantry::runner
