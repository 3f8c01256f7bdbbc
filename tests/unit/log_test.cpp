// logging/: the two line formats (escaping that no input can break out of, JSON that
// parses), the per-kind line budget, and URL redaction.
#include "logging/log.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "logging/line_budget.hpp"
#include "logging/redact.hpp"

namespace rtm::logging {
namespace {

boost::json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << text;
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

// A value with every kind of byte a client could put in a login name or a path.
const std::string kHostile = std::string("a\"b\\c\nd\re\tf") + '\x01' + '\x7f' + "g=h i" +
                             std::string(1, '\0') + "\xc3\xa9" + "\xff\xfe" + "\xe2\x82";

TEST(LogJson, HostileValueParsesBackWithItsTextAndStaysOneLine) {
  std::string payload =
      format_payload(Format::Json, Level::Warn, "login.failed", {{"login", kHostile}, {"n", 7}});
  EXPECT_EQ(payload.find('\n'), std::string::npos);
  EXPECT_EQ(payload.find('\r'), std::string::npos);
  auto o = parse_object("{" + payload + "}");
  EXPECT_EQ(o["level"], "warn");
  EXPECT_EQ(o["event"], "login.failed");
  EXPECT_EQ(o["n"], 7);
  // Valid UTF-8 is kept, each invalid byte (and a cut-short sequence) is U+FFFD.
  std::string want = std::string("a\"b\\c\nd\re\tf") + '\x01' + '\x7f' + "g=h i" +
                     std::string(1, '\0') + "\xc3\xa9" + "\xef\xbf\xbd\xef\xbf\xbd" +
                     "\xef\xbf\xbd\xef\xbf\xbd";
  EXPECT_EQ(std::string(o["login"].as_string()), want);
}

TEST(LogJson, ControlBytesAreEscapedNotWritten) {
  std::string payload = format_payload(Format::Json, Level::Info, "e", {{"v", "\x01\x1f\x7f"}});
  EXPECT_NE(payload.find("\\u0001\\u001f\\u007f"), std::string::npos) << payload;
}

TEST(LogJson, NumbersAndBoolsAreBareAndNonFiniteIsAString) {
  std::string payload = format_payload(Format::Json, Level::Info, "e",
                                       {{"i", -3},
                                        {"u", std::uint64_t{18446744073709551615ull}},
                                        {"d", 1.5},
                                        {"b", true},
                                        {"nan", std::numeric_limits<double>::quiet_NaN()}});
  auto o = parse_object("{" + payload + "}");
  EXPECT_EQ(o["i"], -3);
  EXPECT_EQ(o["u"].as_uint64(), 18446744073709551615ull);
  EXPECT_DOUBLE_EQ(o["d"].as_double(), 1.5);
  EXPECT_EQ(o["b"], true);
  EXPECT_EQ(o["nan"], "nan");
}

TEST(LogText, PlainWordsAreBareAndTheRestQuotedSoNoFieldCanBeForged) {
  std::string payload = format_payload(Format::Text, Level::Warn, "login.failed",
                                       {{"login", "bob"}, {"address", "10.0.0.1"}, {"n", 3}});
  EXPECT_EQ(payload, "warn login.failed login=bob address=10.0.0.1 n=3");
  // A value that tries to end the line and start a forged one.
  payload = format_payload(Format::Text, Level::Warn, "login.failed",
                           {{"login", "x\n2024-01-01T00:00:00Z info rtmd.started admin=1"}});
  EXPECT_EQ(payload.find('\n'), std::string::npos);
  EXPECT_EQ(payload,
            "warn login.failed login=\"x\\n2024-01-01T00:00:00Z info rtmd.started admin=1\"");
  // Quotes, =, backslashes, spaces and empty values are quoted.
  payload = format_payload(Format::Text, Level::Info, "e",
                           {{"a", "x=y"}, {"b", "say \"hi\""}, {"c", ""}, {"d", "a\\b"}});
  EXPECT_EQ(payload, R"(info e a="x=y" b="say \"hi\"" c="" d="a\\b")");
}

TEST(LogText, HostileValueIsOneLineOfValidUtf8) {
  std::string payload = format_payload(Format::Text, Level::Info, "e", {{"v", kHostile}});
  EXPECT_EQ(payload.find('\n'), std::string::npos);
  EXPECT_EQ(payload.find('\r'), std::string::npos);
  EXPECT_EQ(payload.find('\0'), std::string::npos);
  EXPECT_EQ(payload.find('\xff'), std::string::npos);
  // The quoted value is a JSON string: it parses back to the same text as in JSON lines.
  auto quoted = payload.substr(payload.find('=') + 1);
  auto json = parse_object("{\"v\":" + quoted + "}");
  auto from_json =
      parse_object("{" + format_payload(Format::Json, Level::Info, "e", {{"v", kHostile}}) + "}");
  EXPECT_EQ(json["v"], from_json["v"]);
}

TEST(LogWrite, JsonLineOnStderrHasTsLevelEventAndParses) {
  configure(Format::Json, Level::Info);
  testing::internal::CaptureStderr();
  warn("call.slow", {{"method", "message.send"}, {"ms", 1234}});
  debug("not.written");  // below the level
  std::string out = testing::internal::GetCapturedStderr();
  configure(Format::Text, Level::Info);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  std::istringstream lines(out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    auto o = parse_object(line);
    EXPECT_TRUE(o.contains("ts")) << line;
    EXPECT_EQ(o["level"], "warn");
    EXPECT_EQ(o["event"], "call.slow");
    EXPECT_EQ(o["method"], "message.send");
    EXPECT_EQ(o["ms"], 1234);
    std::string ts(o["ts"].as_string());
    EXPECT_EQ(ts.size(), std::string("2024-01-01T00:00:00.000Z").size()) << ts;
    EXPECT_EQ(ts.back(), 'Z');
  }
  EXPECT_EQ(count, 1) << out;
}

TEST(LogWrite, TextLineStartsWithTimeThenLevelThenEvent) {
  configure(Format::Text, Level::Warn);
  testing::internal::CaptureStderr();
  info("below.level");
  error("store.error", {{"msg", "disk I/O error"}});
  std::string out = testing::internal::GetCapturedStderr();
  configure(Format::Text, Level::Info);
  auto space = out.find(' ');
  ASSERT_NE(space, std::string::npos) << out;
  EXPECT_EQ(out.substr(space + 1), "error store.error msg=\"disk I/O error\"\n");
}

TEST(LineBudget, PastTheLimitLinesAreHeldBackAndTheNextLineCountsThem) {
  LineBudget budget(2);
  std::uint64_t suppressed = 99;
  EXPECT_TRUE(budget.admit("k", 1000, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(budget.admit("k", 1001, suppressed));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(budget.admit("k", 1500, suppressed));
  // Another kind has its own budget.
  EXPECT_TRUE(budget.admit("other", 1500, suppressed));
  EXPECT_EQ(suppressed, 0u);
  // The next second: the first line says how many were held back, once.
  EXPECT_TRUE(budget.admit("k", 2000, suppressed));
  EXPECT_EQ(suppressed, 5u);
  EXPECT_TRUE(budget.admit("k", 2001, suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LineBudget, HeldBackCountsOfASecondThatIsOverAreTakenOnce) {
  LineBudget budget(1);
  std::uint64_t suppressed = 0;
  EXPECT_TRUE(budget.admit("k", 0, suppressed));
  EXPECT_FALSE(budget.admit("k", 10, suppressed));
  EXPECT_FALSE(budget.admit("k", 20, suppressed));
  EXPECT_TRUE(budget.take_held_back(500).empty());  // the second is not over
  auto held = budget.take_held_back(1000);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].kind, "k");
  EXPECT_EQ(held[0].count, 2u);
  EXPECT_TRUE(budget.take_held_back(2000).empty());
  EXPECT_TRUE(budget.admit("k", 2000, suppressed));
  EXPECT_EQ(suppressed, 0u);  // already reported
}

TEST(RedactUrl, PasswordsAndSecretQueryValuesAreHidden) {
  EXPECT_EQ(redact_url("postgres://rtm:s3cret@db.example:5432/rtm"),
            "postgres://rtm:***@db.example:5432/rtm");
  EXPECT_EQ(redact_url("redis://:hunter2@cache:6379/0"), "redis://:***@cache:6379/0");
  EXPECT_EQ(redact_url("postgres://db/rtm?sslmode=require&password=p%40ss&connect_timeout=5"),
            "postgres://db/rtm?sslmode=require&password=***&connect_timeout=5");
  EXPECT_EQ(redact_url("http://hooks.example/in?token=abc&API_KEY=def&x=1#frag"),
            "http://hooks.example/in?token=***&API_KEY=***&x=1#frag");
  EXPECT_EQ(redact_url("http://user@host/p"), "http://user@host/p");
}

TEST(RedactUrl, WebhookUrlsShowTheirHostButNeverTheirPath) {
  using rtm::logging::redact_url_path;
  std::string slack = redact_url_path("https://hooks.example/services/T0/B0/s3cr3tPart");
  EXPECT_EQ(slack.rfind("https://hooks.example/…[", 0), 0u) << slack;
  EXPECT_EQ(slack.find("s3cr3t"), std::string::npos) << slack;
  EXPECT_EQ(slack.find("services"), std::string::npos) << slack;
  EXPECT_NE(slack, redact_url_path("https://hooks.example/services/T0/B0/otherPart"));
  EXPECT_EQ(slack, redact_url_path("https://hooks.example/services/T0/B0/s3cr3tPart"));
  EXPECT_EQ(redact_url_path("https://u:pw@hooks.example:8443/x?token=t").find("pw"),
            std::string::npos);
  EXPECT_EQ(redact_url_path("https://hooks.example"), "https://hooks.example");
  EXPECT_EQ(redact_url_path("not a url with a secret"), "…");
  // Passwords with @ in them: the last @ ends the userinfo.
  EXPECT_EQ(redact_url("postgres://u:a@b@host/db"), "postgres://u:***@host/db");
}

TEST(RedactUrl, TextsThatAreNoUrlComeBackAsTheyAre) {
  EXPECT_EQ(redact_url("local"), "local");
  EXPECT_EQ(redact_url("sqlite:/var/lib/rtm/rtm.db"), "sqlite:/var/lib/rtm/rtm.db");
  EXPECT_EQ(redact_url(""), "");
  EXPECT_EQ(redact_url("sqlite:/x.db?key=1"), "sqlite:/x.db?key=***");
}

}  // namespace
}  // namespace rtm::logging
