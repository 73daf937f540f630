// Internal: pieces of evaluation shared between eval.cc and functions.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.h"
#include "expr/value.h"

namespace gantry::expr::detail {

// Thrown inside an evaluation only; Expression::Evaluate turns it into a Result.
struct EvalFailure {
  std::string message;
};

// Per-evaluation bookkeeping: memory built so far (counted as the runner counts it, two
// bytes per character of strings built) against the limit.
class Budget {
 public:
  explicit Budget(size_t max) : max_(max) {}
  void Charge(size_t bytes) {
    used_ += bytes;
    if (used_ > max_) throw EvalFailure{"The maximum allowed memory size was exceeded"};
  }
  void ChargeString(size_t chars) { Charge(chars * 2); }

 private:
  size_t max_;
  size_t used_ = 0;
};

// GitHub's loose comparisons (JavaScript's abstract equality, but strings compared
// case-insensitively and arrays/objects by identity).
bool LooseEquals(const Value& a, const Value& b);
bool GreaterThan(const Value& a, const Value& b);
bool LessThan(const Value& a, const Value& b);

// Functions that take only values.
Value Format(const std::vector<const Value*>& args, Budget& budget);
Value Join(const std::vector<const Value*>& args, Budget& budget);
Value Contains(const Value& search, const Value& item);
bool StartsWith(const Value& s, const Value& prefix);
bool EndsWith(const Value& s, const Value& suffix);
Value FromJson(const Value& v, Budget& budget);
Value ToJson(const Value& v, Budget& budget);

// hashFiles(): sha256 over the sha256 of each matched file under `workspace`; '' if none.
Result<std::string> HashFiles(const std::string& workspace, const std::vector<std::string>& patterns);

}  // namespace gantry::expr::detail
