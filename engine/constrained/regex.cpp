// Regex::compile: syntax tree (regex_parser.h) -> Thompson NFA over code-point sets -> subset
// construction into a DFA whose transitions are sorted disjoint ranges -> dead states pruned.
#include "engine/constrained/regex.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

#include "engine/constrained/regex_parser.h"

namespace toolgate::engine::constrained {

namespace {

constexpr int32_t kNone = -1;
// Work units (closure steps, range events, NFA states sorted and hashed as keys) one compile may
// spend before it gives up: within the state caps, a pattern like (?:.?){1000} keeps ~1000 NFA
// states live in every DFA state. 2M units are 5-20 ms; each format needs less than 50k.
constexpr uint64_t kMaxWork = 2'000'000;

struct NfaState {
  int32_t set = kNone;  // >= 0: consumes one code point of sets[set] and goes to out
  int32_t out = kNone;  // otherwise: epsilon moves to out and out2 (kNone = absent)
  int32_t out2 = kNone;
};

struct VectorHash {
  size_t operator()(const std::vector<int32_t>& v) const {
    uint64_t h = 1469598103934665603ull;
    for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

std::string too_large(std::string_view what, uint64_t limit, uint32_t offset) {
  return "pattern too large: more than " + std::to_string(limit) + " " + std::string(what) +
         " at offset " + std::to_string(offset);
}

}  // namespace

// Builds the DFA of one syntax tree. A class (not a function) so Regex can befriend it.
class RegexDfaBuilder {
 public:
  explicit RegexDfaBuilder(const RegexAst& ast) : ast_(ast) {}

  std::optional<Regex> run(std::string* error) {
    uint32_t bad_offset = 0;
    if (nfa_size(ast_.root, bad_offset) > Regex::kMaxNfaStates) {
      return fail(error, too_large("NFA states after expanding repetitions", Regex::kMaxNfaStates,
                                   bad_offset));
    }
    accept_ = add({});
    start_ = build(ast_.root, accept_);
    stamp_.assign(nfa_.size(), 0);
    if (!subset_construction(error)) return std::nullopt;
    return prune(error);
  }

 private:
  struct RawState {
    std::vector<Regex::Edge> edges;
    bool accepting = false;
  };

  static std::optional<Regex> fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
  }

  // An upper bound of the NFA states build() makes, saturating just above the cap; bad_offset
  // gets the innermost node that crosses the cap.
  uint64_t nfa_size(int node, uint32_t& bad_offset) const {
    constexpr uint64_t kCap = Regex::kMaxNfaStates + 1ull;
    const RegexNode& n = ast_.nodes[node];
    uint64_t size = 0;
    switch (n.kind) {
      case RegexNode::Kind::Empty:
        return 0;
      case RegexNode::Kind::Set:
        return 1;
      case RegexNode::Kind::Concat:
      case RegexNode::Kind::Alt:
        for (int child : n.children) {
          size += nfa_size(child, bad_offset) + (n.kind == RegexNode::Kind::Alt ? 1 : 0);
          if (size >= kCap) break;
        }
        break;
      case RegexNode::Kind::Repeat: {
        const uint64_t child = nfa_size(n.children[0], bad_offset);
        if (child >= kCap) return kCap;
        size = n.max == RegexNode::kUnbounded ? child * (n.min + 1ull) + 1
                                              : child * n.max + (n.max - n.min);
        break;
      }
    }
    if (size >= kCap) {
      if (bad_offset == 0) bad_offset = n.offset;
      return kCap;
    }
    return size;
  }

  int32_t add(NfaState s) {
    nfa_.push_back(s);
    return static_cast<int32_t>(nfa_.size() - 1);
  }

  // Thompson construction by continuation: the fragment for `node` that goes on to `next`;
  // returns its entry state. Counted repetitions are expanded into copies.
  int32_t build(int node, int32_t next) {
    const RegexNode& n = ast_.nodes[node];
    switch (n.kind) {
      case RegexNode::Kind::Empty:
        return next;
      case RegexNode::Kind::Set:
        sets_.push_back(&n.set);
        return add({static_cast<int32_t>(sets_.size() - 1), next, kNone});
      case RegexNode::Kind::Concat:
        for (size_t i = n.children.size(); i-- > 0;) next = build(n.children[i], next);
        return next;
      case RegexNode::Kind::Alt: {
        int32_t rest = build(n.children.back(), next);
        for (size_t i = n.children.size() - 1; i-- > 0;) {
          const int32_t branch = build(n.children[i], next);
          rest = add({kNone, branch, rest});
        }
        return rest;
      }
      case RegexNode::Kind::Repeat: {
        const int child = n.children[0];
        int32_t cur = next;
        if (n.max == RegexNode::kUnbounded) {
          const int32_t loop = add({kNone, kNone, next});
          const int32_t body = build(child, loop);
          nfa_[loop].out = body;
          cur = loop;
        } else {
          // x{0,k} as (x(x(x)?)?)?: each optional copy may stop and go straight to next.
          for (uint32_t k = n.min; k < n.max; ++k) {
            const int32_t body = build(child, cur);
            cur = add({kNone, body, next});
          }
        }
        for (uint32_t k = 0; k < n.min; ++k) cur = build(child, cur);
        return cur;
      }
    }
    return next;
  }

  // The states reachable from `seeds` by epsilon moves that matter to a DFA state: those that
  // consume a code point, and the accepting one. Sorted.
  void closure(const std::vector<int32_t>& seeds, std::vector<int32_t>& out) {
    out.clear();
    if (++generation_ == 0) {
      std::fill(stamp_.begin(), stamp_.end(), 0);
      generation_ = 1;
    }
    stack_.clear();
    for (int32_t s : seeds) {
      if (stamp_[s] != generation_) stamp_[s] = generation_, stack_.push_back(s);
    }
    while (!stack_.empty()) {
      const int32_t s = stack_.back();
      stack_.pop_back();
      ++work_;
      const NfaState& st = nfa_[s];
      if (st.set >= 0 || s == accept_) {
        out.push_back(s);
        continue;
      }
      for (int32_t t : {st.out, st.out2}) {
        if (t != kNone && stamp_[t] != generation_) stamp_[t] = generation_, stack_.push_back(t);
      }
    }
    std::sort(out.begin(), out.end());
    work_ += out.size() * 8;
  }

  // The DFA state for the NFA states reached by one move, created on first sight.
  std::optional<uint32_t> target_of(const std::vector<int32_t>& moved) {
    if (auto it = move_cache_.find(moved); it != move_cache_.end()) return it->second;
    closure(moved, scratch_);
    auto [it, inserted] = ids_.try_emplace(scratch_, static_cast<uint32_t>(dfa_sets_.size()));
    if (inserted) {
      if (dfa_sets_.size() >= Regex::kMaxStates) return std::nullopt;
      dfa_sets_.push_back(scratch_);
    }
    move_cache_.emplace(moved, it->second);
    return it->second;
  }

  bool subset_construction(std::string* error) {
    closure({start_}, scratch_);
    ids_.emplace(scratch_, 0);
    dfa_sets_.push_back(scratch_);

    // The consuming NFA states of a DFA state are grouped by their code-point set: the copies
    // that {m,n} makes of one atom share it, so however many of them are live at once, each set
    // is swept once. A sweep over the sets' range boundaries then finds each stretch of code
    // points with the same groups open, and so the same move.
    struct Event {
      uint32_t at;
      int32_t group;
      bool begins;  // a range of the group's set begins at `at`, or ended just before it
    };
    std::vector<std::pair<const CodeSet*, int32_t>> consuming;  // (set, NFA state after it)
    std::vector<int32_t> targets;       // group g moves to targets[group_begin[g] ..]
    std::vector<uint32_t> group_begin;  // .. up to targets[group_begin[g + 1]]
    std::vector<Event> events;
    std::vector<int32_t> active;  // groups inside one of their ranges, sorted
    std::vector<int32_t> moved;
    const auto by_set = [](const std::pair<const CodeSet*, int32_t>& a,
                           const std::pair<const CodeSet*, int32_t>& b) {
      if (a.first != b.first) return std::less<const CodeSet*>()(a.first, b.first);
      return a.second < b.second;
    };
    for (size_t d = 0; d < dfa_sets_.size(); ++d) {
      RawState raw;
      consuming.clear();
      for (int32_t s : dfa_sets_[d]) {
        if (s == accept_) {
          raw.accepting = true;
        } else {
          consuming.emplace_back(sets_[nfa_[s].set], nfa_[s].out);
        }
      }
      std::sort(consuming.begin(), consuming.end(), by_set);
      targets.clear();
      group_begin.clear();
      events.clear();
      for (size_t i = 0; i < consuming.size();) {
        const auto group = static_cast<int32_t>(group_begin.size());
        const CodeSet* set = consuming[i].first;
        group_begin.push_back(static_cast<uint32_t>(targets.size()));
        for (; i < consuming.size() && consuming[i].first == set; ++i) {
          if (targets.size() == group_begin.back() || targets.back() != consuming[i].second) {
            targets.push_back(consuming[i].second);
          }
        }
        for (const CodeRange& r : *set) {
          events.push_back({r.lo, group, true});
          events.push_back({r.hi + 1, group, false});
        }
      }
      group_begin.push_back(static_cast<uint32_t>(targets.size()));
      work_ += events.size() + targets.size();
      std::sort(events.begin(), events.end(),
                [](const Event& a, const Event& b) { return a.at < b.at; });
      active.clear();
      for (size_t i = 0; i < events.size();) {
        const uint32_t at = events[i].at;
        for (; i < events.size() && events[i].at == at; ++i) {
          // A set's ranges are disjoint and never adjacent, so a group is open at most once.
          auto it = std::lower_bound(active.begin(), active.end(), events[i].group);
          if (events[i].begins) {
            active.insert(it, events[i].group);
          } else {
            active.erase(it);
          }
        }
        if (active.empty() || i == events.size()) continue;
        moved.clear();
        for (int32_t g : active) {
          moved.insert(moved.end(), targets.begin() + group_begin[g],
                       targets.begin() + group_begin[g + 1]);
        }
        if (active.size() > 1) {
          std::sort(moved.begin(), moved.end());
          moved.erase(std::unique(moved.begin(), moved.end()), moved.end());
          work_ += moved.size() * 8;  // the sort
        }
        work_ += moved.size() * 2;  // hashing and comparing it as a key
        if (work_ > kMaxWork) return fail_work(error);
        const std::optional<uint32_t> next = target_of(moved);
        if (!next) {
          if (error) *error = too_large("DFA states", Regex::kMaxStates, 0);
          return false;
        }
        const uint32_t hi = events[i].at - 1;
        if (!raw.edges.empty() && raw.edges.back().next == *next && raw.edges.back().hi + 1 == at) {
          raw.edges.back().hi = hi;
        } else {
          raw.edges.push_back({at, hi, *next});
        }
      }
      raw_.push_back(std::move(raw));
      if (work_ > kMaxWork) return fail_work(error);
    }
    return true;
  }

  static bool fail_work(std::string* error) {
    if (error)
      *error = "pattern too complex to compile (too many NFA states live at once) at offset 0";
    return false;
  }

  // Drops the states from which no accepting state is reachable and numbers the rest in
  // breadth-first order from the start (which becomes state 0).
  std::optional<Regex> prune(std::string* error) {
    const size_t n = raw_.size();
    std::vector<std::vector<uint32_t>> into(n);
    for (uint32_t d = 0; d < n; ++d) {
      for (const Regex::Edge& e : raw_[d].edges) into[e.next].push_back(d);
    }
    std::vector<uint8_t> live(n, 0);
    std::deque<uint32_t> queue;
    for (uint32_t d = 0; d < n; ++d) {
      if (raw_[d].accepting) live[d] = 1, queue.push_back(d);
    }
    while (!queue.empty()) {
      const uint32_t d = queue.front();
      queue.pop_front();
      for (uint32_t from : into[d]) {
        if (!live[from]) live[from] = 1, queue.push_back(from);
      }
    }
    if (!live[0]) return fail(error, "pattern matches no string at offset 0");

    std::vector<uint32_t> renumber(n, Regex::kDead);
    std::vector<uint32_t> order = {0};
    renumber[0] = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      for (const Regex::Edge& e : raw_[order[i]].edges) {
        if (live[e.next] && renumber[e.next] == Regex::kDead) {
          renumber[e.next] = static_cast<uint32_t>(order.size());
          order.push_back(e.next);
        }
      }
    }

    Regex re;
    re.first_edge_.reserve(order.size() + 1);
    re.accepting_.reserve(order.size());
    for (uint32_t old : order) {
      re.first_edge_.push_back(static_cast<uint32_t>(re.edges_.size()));
      re.accepting_.push_back(raw_[old].accepting ? 1 : 0);
      const size_t first = re.edges_.size();
      for (const Regex::Edge& e : raw_[old].edges) {
        if (!live[e.next]) continue;
        const uint32_t next = renumber[e.next];
        if (re.edges_.size() > first && re.edges_.back().next == next &&
            re.edges_.back().hi + 1 == e.lo) {
          re.edges_.back().hi = e.hi;
        } else {
          re.edges_.push_back({e.lo, e.hi, next});
        }
      }
    }
    re.first_edge_.push_back(static_cast<uint32_t>(re.edges_.size()));
    return re;
  }

  const RegexAst& ast_;
  std::vector<NfaState> nfa_;
  std::vector<const CodeSet*> sets_;  // point into ast_.nodes
  int32_t accept_ = kNone, start_ = kNone;

  std::vector<uint32_t> stamp_;
  uint32_t generation_ = 0;
  std::vector<int32_t> stack_, scratch_;
  uint64_t work_ = 0;

  std::unordered_map<std::vector<int32_t>, uint32_t, VectorHash> ids_, move_cache_;
  std::vector<std::vector<int32_t>> dfa_sets_;
  std::vector<RawState> raw_;
};

std::optional<Regex> Regex::compile(std::string_view pattern, std::string* error) {
  try {
    std::optional<RegexAst> ast = parse_regex(pattern, error);
    if (!ast) return std::nullopt;
    return RegexDfaBuilder(*ast).run(error);
  } catch (const std::exception& e) {
    if (error) *error = std::string("regex compile failed (") + e.what() + ") at offset 0";
    return std::nullopt;
  } catch (...) {
    if (error) *error = "regex compile failed at offset 0";
    return std::nullopt;
  }
}

uint32_t Regex::step(uint32_t state, uint32_t cp) const {
  if (state >= state_count()) return kDead;  // kDead stays dead
  const auto es = edges(state);
  auto it = std::upper_bound(es.begin(), es.end(), cp,
                             [](uint32_t c, const Edge& e) { return c < e.lo; });
  if (it == es.begin()) return kDead;
  --it;
  return cp <= it->hi ? it->next : kDead;
}

bool Regex::can_step_in(uint32_t state, uint32_t lo, uint32_t hi) const {
  if (state >= state_count()) return false;
  const auto es = edges(state);
  auto it = std::lower_bound(es.begin(), es.end(), lo,
                             [](const Edge& e, uint32_t c) { return e.hi < c; });
  return it != es.end() && it->lo <= hi;
}

bool Regex::full_match(std::string_view text) const {
  uint32_t state = start();
  for (size_t i = 0; i < text.size();) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    const size_t len = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
    if ((b0 >= 0x80 && b0 < 0xC2) || b0 > 0xF4 || i + len > text.size()) return false;
    uint32_t cp = len == 1 ? b0 : b0 & (0x7Fu >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<uint8_t>(text[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    state = step(state, cp);
    if (state == kDead) return false;
    i += len;
  }
  return accepting(state);
}

}  // namespace toolgate::engine::constrained
