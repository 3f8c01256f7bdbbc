// api::CallLog: the lines the dispatcher writes for Unavailable answers, internal errors, slow
// calls, refused keys and failed logins, read back from stderr as the JSON an operator's log
// shipper would get.
#include "api/call_log.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>
#include <vector>

#include "api/reply.hpp"
#include "logging/log.hpp"

namespace rtm::api {
namespace {

using namespace std::chrono_literals;

// The JSON lines `f` writes on stderr.
template <class F>
std::vector<boost::json::object> lines_of(F f) {
  logging::configure(logging::Format::Json, logging::Level::Info);
  testing::internal::CaptureStderr();
  f();
  std::istringstream in(testing::internal::GetCapturedStderr());
  std::vector<boost::json::object> out;
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

TEST(CallLog, UnavailableAnswerIsACallUnavailableLineNotTheStoresOwnStoreError) {
  CallLog log(1000ms);
  auto lines = lines_of([&] {
    log.answered("message.send", "10.1.2.3",
                 Reply::error(Rc::Unavailable, "the store failed: disk I/O error"), 1ms);
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "error");
  EXPECT_EQ(lines[0]["event"], "call.unavailable");
  EXPECT_EQ(lines[0]["method"], "message.send");
  EXPECT_EQ(lines[0]["address"], "10.1.2.3");
  EXPECT_EQ(lines[0]["msg"], "the store failed: disk I/O error");
}

TEST(CallLog, InternalAnswerIsLoggedAndOrdinaryErrorsAreNot) {
  CallLog log(1000ms);
  auto lines = lines_of([&] {
    log.answered("user.add", "::1", Reply::error(Rc::AlreadyExists, "login taken"), 1ms);
    log.answered("user.add", "::1", Reply::error(Rc::Internal, "internal error: boom"), 1ms);
    log.answered("user.add", "::1", Reply{}, 1ms);
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["event"], "call.internal");
  EXPECT_EQ(lines[0]["msg"], "internal error: boom");
}

TEST(CallLog, CallBusyAtLeastTheThresholdIsSlowAndZeroMeansNever) {
  CallLog log(50ms);
  auto lines = lines_of([&] {
    log.answered("message.history", "10.0.0.9", Reply{}, 49ms);
    log.answered("message.history", "10.0.0.9", Reply{}, 120ms);
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["event"], "call.slow");
  EXPECT_EQ(lines[0]["method"], "message.history");
  EXPECT_EQ(lines[0]["ms"], 120);
  EXPECT_EQ(lines[0]["threshold_ms"], 50);
  CallLog never(0ms);
  EXPECT_TRUE(lines_of([&] { never.answered("m", "a", Reply{}, 10s); }).empty());
}

TEST(CallLog, RefusedKeySaysMissingOrWrong) {
  CallLog log(1000ms);
  auto lines = lines_of([&] {
    log.refused_key("user.add", "192.0.2.1", false);
    log.refused_key("user.add", "192.0.2.1", true);
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["event"], "call.unauthorized");
  EXPECT_EQ(lines[0]["reason"], "missing Authorization header");
  EXPECT_EQ(lines[1]["reason"], "wrong API key");
  EXPECT_EQ(lines[1]["address"], "192.0.2.1");
}

TEST(CallLog, AFloodOfRefusedKeysWritesAFewLinesNotOneEach) {
  CallLog log(1000ms);
  auto lines = lines_of([&] {
    for (int i = 0; i < 500; ++i) log.refused_key("user.add", "192.0.2.1", true);
  });
  // Ten a second; the loop may straddle a second.
  EXPECT_GE(lines.size(), 10u);
  EXPECT_LE(lines.size(), 20u);
}

TEST(CallLog, FailedLoginLineNamesTheLoginOrTheTokenAndTheAddress) {
  CallLog log(1000ms);
  auto lines = lines_of([&] {
    log.login_failed("alice", "203.0.113.7",
                     {Rc::AuthorizeFailed, "login or password do not match"});
    log.login_failed("", "203.0.113.7", {Rc::TokenExpired, "the token expired"});
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["event"], "login.failed");
  EXPECT_EQ(lines[0]["login"], "alice");
  EXPECT_EQ(lines[0]["address"], "203.0.113.7");
  EXPECT_EQ(lines[0]["error"], "AuthorizeFailed");
  EXPECT_FALSE(lines[1].contains("login"));
  EXPECT_EQ(lines[1]["credential"], "token");
  EXPECT_EQ(lines[1]["error"], "TokenExpired");
}

}  // namespace
}  // namespace rtm::api
