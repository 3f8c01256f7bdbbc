// Rate settings parsed from the config (rate_limit.hpp).
#include "core/rate_limit.hpp"

#include <charconv>
#include <optional>
#include <string>

namespace rtm {

namespace {

std::optional<long long> whole_number(std::string_view text, long long lo, long long hi) {
  long long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

}  // namespace

Result<RateLimit> parse_rate_limit(std::string_view text, std::string_view what) {
  if (text.empty() || text == "off" || text == "0") return RateLimit{};
  auto bad = [&] {
    return make_error(Rc::InvalidParameter,
                      std::string(what) +
                          " must be off or N/s, N/m or N/h with an optional :BURST (e.g. 20/s, "
                          "600/m:50), got '" +
                          std::string(text.substr(0, 64)) + "'");
  };
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad();
  auto count = whole_number(text.substr(0, slash), 1, 1'000'000);
  std::string_view rest = text.substr(slash + 1);
  std::string_view unit = rest.substr(0, rest.find(':'));
  double seconds = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (!count || seconds == 0) return bad();
  RateLimit limit{static_cast<double>(*count) / seconds, static_cast<double>(*count)};
  if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    auto burst = whole_number(rest.substr(colon + 1), 1, 1'000'000);
    if (!burst) return bad();
    limit.burst = static_cast<double>(*burst);
  }
  return limit;
}

}  // namespace rtm
