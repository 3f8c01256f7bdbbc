// RespReader (broker/redis/resp_reader.hpp): every RESP2 and RESP3 reply type, replies split
// at every byte, several replies in one read, and the bytes it refuses (grammar, limits),
// after which it stays broken. encode_command is what Redis reads.
#include "broker/redis/resp_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rtm::redis {
namespace {

using T = RespValue::Type;

RespValue one(std::string_view bytes) {
  RespReader r;
  r.feed(bytes);
  auto v = r.next();
  EXPECT_TRUE(v.has_value()) << "incomplete: " << bytes;
  if (!v) return {};
  EXPECT_TRUE(v->ok()) << (v->ok() ? "" : v->error().msg);
  EXPECT_EQ(r.buffered(), 0u);
  return v->ok() ? **v : RespValue{};
}

Error refused(std::string_view bytes, RespLimits limits = {}) {
  RespReader r(limits);
  r.feed(bytes);
  auto v = r.next();
  EXPECT_TRUE(v.has_value() && !v->ok()) << "accepted: " << bytes;
  if (!v || v->ok()) return Error{};
  auto again = r.next();  // broken for good: the stream cannot be framed any more
  EXPECT_TRUE(again.has_value() && !again->ok());
  return v->error();
}

TEST(RespReader, ReadsEveryResp2Type) {
  EXPECT_EQ(one("+OK\r\n").text, "OK");
  EXPECT_EQ(one("+OK\r\n").type, T::SimpleString);
  auto err = one("-ERR unknown command\r\n");
  EXPECT_TRUE(err.is_error());
  EXPECT_EQ(err.text, "ERR unknown command");
  EXPECT_EQ(one(":-42\r\n").integer, -42);
  EXPECT_EQ(one(":9223372036854775807\r\n").integer, 9223372036854775807);
  auto bulk = one("$5\r\nhe\r\nl\r\n");  // a bulk string may hold CR LF
  EXPECT_EQ(bulk.type, T::BulkString);
  EXPECT_EQ(bulk.text, "he\r\nl");
  EXPECT_EQ(one("$0\r\n\r\n").text, "");
  EXPECT_EQ(one("$-1\r\n").type, T::Null);
  EXPECT_EQ(one("*-1\r\n").type, T::Null);
  auto arr = one("*3\r\n:1\r\n$3\r\nfoo\r\n*1\r\n+x\r\n");
  ASSERT_EQ(arr.type, T::Array);
  ASSERT_EQ(arr.items.size(), 3u);
  EXPECT_EQ(arr.items[0].integer, 1);
  EXPECT_EQ(arr.items[1].text, "foo");
  EXPECT_EQ(arr.items[2].items.at(0).text, "x");
  EXPECT_TRUE(one("*0\r\n").items.empty());
}

TEST(RespReader, ReadsEveryResp3Type) {
  EXPECT_EQ(one("_\r\n").type, T::Null);
  EXPECT_EQ(one("#t\r\n").integer, 1);
  EXPECT_EQ(one("#f\r\n").type, T::Boolean);
  EXPECT_EQ(one(",1.5e3\r\n").text, "1.5e3");
  EXPECT_EQ(one("(3492890328409238509324850943850943825024385\r\n").type, T::BigNumber);
  auto bulk_error = one("!21\r\nSYNTAX invalid syntax\r\n");
  EXPECT_TRUE(bulk_error.is_error());
  EXPECT_EQ(bulk_error.text, "SYNTAX invalid syntax");
  EXPECT_EQ(one("=15\r\ntxt:Some string\r\n").text, "txt:Some string");
  auto map = one("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n");
  ASSERT_EQ(map.type, T::Map);
  ASSERT_EQ(map.items.size(), 4u);
  EXPECT_EQ(map.items[2].text, "b");
  EXPECT_EQ(map.items[3].integer, 2);
  EXPECT_EQ(one("~2\r\n+a\r\n+b\r\n").items.size(), 2u);
  auto push = one(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
  ASSERT_EQ(push.type, T::Push);
  EXPECT_EQ(push.items.at(2).text, "hello");
}

TEST(RespReader, AReplySplitAtAnyByteComesOnceWhole) {
  const std::string reply = "*4\r\n$7\r\nmessage\r\n:12\r\n%1\r\n+k\r\n$-1\r\n#t\r\n";
  for (std::size_t cut = 0; cut <= reply.size(); ++cut) {
    RespReader r;
    r.feed(reply.substr(0, cut));
    auto early = r.next();
    if (cut < reply.size()) {
      ASSERT_FALSE(early.has_value()) << "answered at " << cut << " bytes";
      r.feed(reply.substr(cut));
    } else {
      r.feed("");
    }
    auto v = cut < reply.size() ? r.next() : early;
    ASSERT_TRUE(v.has_value() && v->ok()) << cut;
    EXPECT_EQ((*v)->items.size(), 4u);
    EXPECT_EQ((*v)->items[2].items[1].type, T::Null);
    EXPECT_FALSE(r.next().has_value());
  }
}

TEST(RespReader, SeveralRepliesInOneReadComeInOrder) {
  RespReader r;
  r.feed("+OK\r\n:1\r\n$1\r\nx\r\n+PAR");
  EXPECT_EQ((*r.next())->text, "OK");
  EXPECT_EQ((*r.next())->integer, 1);
  EXPECT_EQ((*r.next())->text, "x");
  EXPECT_FALSE(r.next().has_value());
  r.feed("TIAL\r\n");
  EXPECT_EQ((*r.next())->text, "PARTIAL");
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(RespReader, BytesThatBreakTheGrammarAreRefusedForGood) {
  EXPECT_NE(refused("?what\r\n").msg.find("unknown type"), std::string::npos);
  refused(":12a\r\n");
  refused(":\r\n");
  refused(":99999999999999999999\r\n");  // past int64
  refused("$-2\r\n");
  refused("$3\r\nabcd\r\n");  // no CRLF after the 3 bytes
  refused("*-2\r\n");
  refused("%-1\r\n");  // only * and $ carry RESP2's null
  refused("#x\r\n");
  refused("_x\r\n");
  refused("+a\rb\r\n");  // a bare CR inside a line
  refused("+a\nb\r\n");
}

TEST(RespReader, RepliesPastTheLimitsAreRefusedBeforeTheyAreRead) {
  RespLimits small;
  small.max_bulk = 10;
  small.max_elements = 4;
  small.max_depth = 3;
  small.max_line = 16;
  small.max_buffered = 64;
  EXPECT_NE(refused("$11\r\n", small).msg.find("over 10"), std::string::npos);
  refused("*5\r\n", small);
  refused("%3\r\n", small);  // 6 elements
  refused("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", small);
  refused("+" + std::string(17, 'a'), small);  // no CRLF yet, already too long
  RespReader r(small);
  r.feed(std::string(65, '+'));
  auto v = r.next();
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->ok()) << "more than the buffer may hold";
  // A huge declared length is refused at once, not waited for.
  refused("$9223372036854775807\r\n");
  refused("*9223372036854775807\r\n");
}

TEST(EncodeCommand, IsAnArrayOfBulkStrings) {
  EXPECT_EQ(encode_command({"SET", "k", "a\r\nb"}),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
  EXPECT_EQ(encode_command({"PING"}), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(encode_command({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

}  // namespace
}  // namespace rtm::redis
