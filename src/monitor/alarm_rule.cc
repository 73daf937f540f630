// The composite alarm rule language: a recursive-descent parser with depth and size limits.
#include <cctype>

#include "monitor/alarm.h"

namespace gantry::monitor {

struct AlarmRule::Node {
  enum class Kind { kState, kAnd, kOr, kNot, kConst } kind = Kind::kConst;
  AlarmState state = AlarmState::kAlarm;  // kState: the state asked about
  std::string alarm;                      // kState
  bool value = false;                     // kConst
  std::shared_ptr<const Node> left, right;
};

namespace {

constexpr size_t kMaxRuleBytes = 10240;
constexpr int kMaxDepth = 32;
constexpr size_t kMaxReferences = 100;

class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  Result<std::shared_ptr<const AlarmRule::Node>> Run(std::vector<std::string>* refs) {
    refs_ = refs;
    auto n = Or(0);
    if (!n) return Error();
    Skip();
    if (pos_ != text_.size()) return Fail("unexpected \"" + std::string(text_.substr(pos_, 10)) + "\""), Error();
    return n;
  }

 private:
  using NodeP = std::shared_ptr<const AlarmRule::Node>;

  Result<NodeP> Error() { return Result<NodeP>::Error(error_); }
  void Fail(const std::string& what) {
    if (error_.empty()) error_ = std::string(source_) + ":1:" + std::to_string(pos_ + 1) + ": " + what;
  }
  void Skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string_view Word() {
    Skip();
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  bool PeekWord(std::string_view w) {
    size_t save = pos_;
    bool match = Word() == w;
    pos_ = save;
    return match;
  }
  bool Expect(char c) {
    Skip();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    Fail(std::string("expected '") + c + "'");
    return false;
  }

  NodeP Binary(int depth, bool is_or) {
    NodeP left = is_or ? Binary(depth, false) : Unary(depth);
    if (!left) return nullptr;
    std::string_view op = is_or ? "OR" : "AND";
    while (PeekWord(op)) {
      Word();
      NodeP right = is_or ? Binary(depth, false) : Unary(depth);
      if (!right) return nullptr;
      auto n = std::make_shared<AlarmRule::Node>();
      n->kind = is_or ? AlarmRule::Node::Kind::kOr : AlarmRule::Node::Kind::kAnd;
      n->left = left;
      n->right = right;
      left = n;
    }
    return left;
  }
  NodeP Or(int depth) { return Binary(depth, true); }

  NodeP Unary(int depth) {
    if (depth > kMaxDepth) return Fail("rule nested deeper than " + std::to_string(kMaxDepth) + " levels"), nullptr;
    Skip();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      NodeP inner = Or(depth + 1);
      if (!inner || !Expect(')')) return nullptr;
      return inner;
    }
    size_t word_at = pos_;
    std::string_view w = Word();
    auto n = std::make_shared<AlarmRule::Node>();
    if (w == "NOT") {
      NodeP inner = Unary(depth + 1);
      if (!inner) return nullptr;
      n->kind = AlarmRule::Node::Kind::kNot;
      n->left = inner;
      return n;
    }
    if (w == "TRUE" || w == "FALSE") {
      n->kind = AlarmRule::Node::Kind::kConst;
      n->value = w == "TRUE";
      return n;
    }
    if (w == "ALARM" || w == "OK" || w == "INSUFFICIENT_DATA") {
      n->kind = AlarmRule::Node::Kind::kState;
      n->state = w == "ALARM" ? AlarmState::kAlarm : w == "OK" ? AlarmState::kOk : AlarmState::kInsufficientData;
      if (!Expect('(')) return nullptr;
      Skip();
      std::string name;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        size_t end = text_.find('"', pos_ + 1);
        if (end == std::string_view::npos) return Fail("unterminated alarm name"), nullptr;
        name = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
      } else {
        size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ')' && !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
          ++pos_;
        }
        name = std::string(text_.substr(start, pos_ - start));
      }
      if (name.empty() || name.size() > 255) return Fail("expected an alarm name"), nullptr;
      if (!Expect(')')) return nullptr;
      if (refs_->size() >= kMaxReferences) return Fail("more than 100 alarm references"), nullptr;
      refs_->push_back(name);
      n->alarm = std::move(name);
      return n;
    }
    pos_ = word_at;
    Fail(w.empty() ? "expected ALARM(name), OK(name), INSUFFICIENT_DATA(name), NOT, TRUE, FALSE or '('"
                   : "unknown word \"" + std::string(w.substr(0, 30)) + "\"");
    return nullptr;
  }

  std::string_view text_;
  std::string_view source_;
  size_t pos_ = 0;
  std::string error_;
  std::vector<std::string>* refs_ = nullptr;
};

bool Eval(const AlarmRule::Node& n, const std::function<AlarmState(const std::string&)>& state_of) {
  using K = AlarmRule::Node::Kind;
  switch (n.kind) {
    case K::kConst:
      return n.value;
    case K::kState:
      return state_of(n.alarm) == n.state;
    case K::kNot:
      return !Eval(*n.left, state_of);
    case K::kAnd:
      return Eval(*n.left, state_of) && Eval(*n.right, state_of);
    case K::kOr:
      return Eval(*n.left, state_of) || Eval(*n.right, state_of);
  }
  return false;
}

}  // namespace

Result<AlarmRule> AlarmRule::Parse(std::string_view text, std::string_view source) {
  if (text.size() > kMaxRuleBytes) {
    return Result<AlarmRule>::Error(std::string(source) + ":1:1: rule longer than " + std::to_string(kMaxRuleBytes) +
                                    " bytes");
  }
  AlarmRule rule;
  Parser p(text, source);
  auto root = p.Run(&rule.refs_);
  if (!root.ok()) return root.status();
  rule.root_ = *root;
  return rule;
}

bool AlarmRule::Evaluate(const std::function<AlarmState(const std::string&)>& state_of) const {
  return root_ && Eval(*root_, state_of);
}

}  // namespace gantry::monitor
