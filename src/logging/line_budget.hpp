// LineBudget: keeps a flood of one kind of event from flooding the log. At most
// `lines_per_second` lines of a kind go out in each second; the rest are counted, and the
// count is reported once: on the next line of that kind that goes out (its `suppressed`
// field), or by take_held_back() once that second is over (rtmd calls it every second and
// writes a `log.suppressed` line). Nothing is lost silently, and a client that sends ten
// thousand refused calls a second costs the log a few lines a second.
//
// Kinds must come from a bounded set (an event name, a method name of the method table),
// never from client input: each kind keeps a small entry for the life of the process.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rtm::logging {

class LineBudget {
 public:
  explicit LineBudget(int lines_per_second) : per_second_(lines_per_second) {}

  // Whether a line of `kind` may be written now (the steady clock). When it may,
  // `suppressed` is the number of lines of that kind held back since the last one that went
  // out (0 mostly).
  bool admit(std::string_view kind, std::uint64_t& suppressed);
  // The same at a given time (steady milliseconds): for tests.
  bool admit(std::string_view kind, std::int64_t now_ms, std::uint64_t& suppressed);

  struct HeldBack {
    std::string kind;
    std::uint64_t count;
  };
  // The counts held back in seconds that are over (by the steady clock) and that no line has
  // reported yet; each is answered once.
  std::vector<HeldBack> take_held_back();
  std::vector<HeldBack> take_held_back(std::int64_t now_ms);  // at a given time: for tests

 private:
  struct Window {
    std::int64_t start_ms = 0;
    int lines = 0;                // lines that went out in this window
    std::uint64_t held_back = 0;  // lines held back and not reported yet
  };
  const int per_second_;
  std::mutex mu_;  // a leaf: nothing else is taken under it (docs/lock-order.md)
  std::unordered_map<std::string, Window> kinds_;
};

}  // namespace rtm::logging
