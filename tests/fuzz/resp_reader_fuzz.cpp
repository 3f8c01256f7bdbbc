// Fuzz target: RESP replies (broker/redis/resp_reader.hpp), the bytes a Redis connection
// hands the node. Input: a split byte, then the bytes, fed in two pieces at that split and
// also whole. Either way the reader never crashes, answers the same replies (or the same
// refusal) in the same order, and after a refusal answers only refusals. Every reply it
// answers is within the limits, and what it reads back from its own encoding of a command
// is that command.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "broker/redis/resp_reader.hpp"

using rtm::redis::RespLimits;
using rtm::redis::RespReader;
using rtm::redis::RespValue;

namespace {

RespLimits limits() {
  RespLimits l;
  l.max_bulk = 4096;
  l.max_elements = 256;
  l.max_depth = 8;
  l.max_line = 1024;
  l.max_buffered = 1 << 16;
  return l;
}

// A reply as text, to compare two readings.
void describe(const RespValue& v, std::string& out, std::size_t depth) {
  if (depth > limits().max_depth) std::abort();
  out += std::to_string(static_cast<int>(v.type));
  out += ':';
  out += v.text;
  out += ':';
  out += std::to_string(v.integer);
  out += '[';
  if (v.text.size() > limits().max_bulk + limits().max_line) std::abort();
  if (v.items.size() > limits().max_elements) std::abort();
  for (const auto& i : v.items) describe(i, out, depth + 1);
  out += ']';
}

std::vector<std::string> read_all(const std::vector<std::string_view>& pieces) {
  RespReader r(limits());
  std::vector<std::string> out;
  bool broken = false;
  for (auto p : pieces) {
    r.feed(p);
    for (;;) {
      auto v = r.next();
      if (!v) break;
      if (!v->ok()) {
        broken = true;
        break;
      }
      std::string d;
      describe(**v, d, 0);
      out.push_back(std::move(d));
    }
    if (broken) break;
  }
  if (broken) {
    auto again = r.next();
    if (!again || again->ok()) std::abort();  // a refusal is for good
    out.push_back("<refused>");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
  auto whole = read_all({bytes});
  auto pieces = read_all({bytes.substr(0, split), bytes.substr(split)});
  // A refusal may come earlier whole than in pieces only through the buffered limit, which
  // the inputs here never reach (libFuzzer's default max_len is far below it).
  if (whole != pieces) std::abort();

  // The input as the arguments of a command: encoded, it reads back as that array.
  std::vector<std::string_view> args;
  for (std::size_t i = 0; i < bytes.size() && args.size() < 8; i += 1 + bytes.size() / 8)
    args.push_back(bytes.substr(i, 1 + bytes.size() / 8));
  if (!args.empty()) {
    RespReader r(limits());
    r.feed(rtm::redis::encode_command(args));
    auto v = r.next();
    if (!v || !v->ok() || (*v)->items.size() != args.size()) std::abort();
    for (std::size_t i = 0; i < args.size(); ++i)
      if ((*v)->items[i].text != args[i]) std::abort();
  }
  return 0;
}
