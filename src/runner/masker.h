// Secret masking: every secret value and every `::add-mask::` value is replaced by "***" in
// all output the runner shows or stores. A multi-line value is masked line by line, as GitHub
// does, so that a secret split across output lines is still hidden.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::runner {

class Masker {
 public:
  // Registers a value (and each of its lines). Values shorter than 2 characters are
  // ignored after trimming, like GitHub, so that masking "1" does not destroy all output.
  void Add(std::string_view value);
  // Returns `text` with every registered value replaced by "***".
  std::string Mask(std::string_view text) const;
  bool empty() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> values_;  // longest first, so a longer secret wins over its prefix
};

}  // namespace gantry::runner
