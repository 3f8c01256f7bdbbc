// src/http_client: the HTTP/1.1 codec (request heads, response heads, chunked bodies,
// malformed answers) and BlockingClient against a real loopback server run by the test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client/base_url.hpp"
#include "http_client/blocking_client.hpp"
#include "http_client/http_codec.hpp"

namespace rtm::http {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------- request heads

TEST(HttpCodecTest, PostHeadCarriesHostBearerTypeAndLength) {
  std::string head;
  format_request_head(head, "POST", "/rtm/v1/message.send", "127.0.0.1:8080", "KEY", 12);
  EXPECT_EQ(head,
            "POST /rtm/v1/message.send HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "User-Agent: rtm/0.1\r\n"
            "Accept: application/json\r\n"
            "Authorization: Bearer KEY\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 12\r\n"
            "\r\n");
}

TEST(HttpCodecTest, GetHeadWithoutBodyOrBearerHasNoBodyHeadersAndNoAuthorization) {
  std::string head;
  format_request_head(head, "GET", "/healthz", "h:1", "", 0);
  EXPECT_EQ(head,
            "GET /healthz HTTP/1.1\r\nHost: h:1\r\nUser-Agent: rtm/0.1\r\n"
            "Accept: application/json\r\n\r\n");
}

TEST(HttpCodecTest, EmptyPostStillSaysContentLengthZero) {
  std::string head;
  format_request_head(head, "POST", "/v1/session.create", "h:1", "", 0, "text/plain");
  EXPECT_NE(head.find("Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n"), std::string::npos);
}

TEST(HttpCodecTest, FormattingAppendsToWhatIsAlreadyThere) {
  std::string head = "prefix|";
  format_request_head(head, "GET", "/", "h:1", "", 0);
  EXPECT_EQ(head.rfind("prefix|GET / HTTP/1.1\r\n", 0), 0u);
}

// ---------------------------------------------------------------- response heads

TEST(HttpCodecTest, HeadIsNeedMoreUntilTheBlankLineArrives) {
  ResponseHead h;
  EXPECT_EQ(parse_response_head("", h), Parse::need_more);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\n", h), Parse::need_more);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r", h), Parse::need_more);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", h), Parse::done);
}

TEST(HttpCodecTest, HeadGivesStatusLengthTypeAndItsOwnSize) {
  const std::string head =
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n";
  const std::string data = head + R"({"rc":1,"x":"yz"})";
  ResponseHead h;
  ASSERT_EQ(parse_response_head(data, h), Parse::done);
  EXPECT_EQ(h.status, 404);
  EXPECT_TRUE(h.has_length);
  EXPECT_EQ(h.content_length, 17u);
  EXPECT_FALSE(h.chunked);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.content_type, "application/json");
  EXPECT_EQ(h.head_size, head.size());
}

TEST(HttpCodecTest, HeaderNamesAreCaseInsensitiveAndValuesTrimmed) {
  ResponseHead h;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:\t 5 \t\r\n"
                                "CONTENT-TYPE:   text/xml  \r\n\r\n",
                                h),
            Parse::done);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_EQ(h.content_type, "text/xml");
}

TEST(HttpCodecTest, KeepAliveIsTheDefaultOfHttp11AndNotOfHttp10) {
  ResponseHead h;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\n\r\n", h), Parse::done);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.0 200 OK\r\n\r\n", h), Parse::done);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", h),
            Parse::done);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\n\r\n", h),
            Parse::done);
  EXPECT_FALSE(h.keep_alive);
}

TEST(HttpCodecTest, ChunkedWinsOverContentLength) {
  ResponseHead h;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                "Transfer-Encoding: gzip, Chunked\r\n\r\n",
                                h),
            Parse::done);
  EXPECT_TRUE(h.chunked);
  EXPECT_FALSE(h.has_length);
}

TEST(HttpCodecTest, ParsingResetsWhatAnEarlierHeadLeft) {
  ResponseHead h;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", h), Parse::done);
  ASSERT_EQ(parse_response_head("HTTP/1.1 204 No Content\r\n\r\n", h), Parse::done);
  EXPECT_FALSE(h.has_length);
  EXPECT_EQ(h.status, 204);
}

TEST(HttpCodecTest, MalformedHeadsAreErrors) {
  const char* bad[] = {
      "HTTP/2 200 OK\r\n\r\n",  // not HTTP/1.x
      "ICY 200 OK\r\n\r\n",     // not HTTP at all
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.0 -04 Not Found\r\n\r\n",  // a sign is not a digit (fuzz finding)
      "HTTP/1.1 +20 OK\r\n\r\n",
      "HTTP/1.1_200 OK\r\n\r\n",                         // status not three digits
      "HTTP/1.1 20\r\n\r\n",                             // status line too short
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",        // header without ':'
      "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",  // trailing junk in the length
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",   // negative length
      "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",      // empty length
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",  // overflow
  };
  for (const char* text : bad) {
    ResponseHead h;
    EXPECT_EQ(parse_response_head(text, h), Parse::error) << text;
  }
}

TEST(HttpCodecTest, AHeadThatNeverEndsIsAnErrorPast64KiB) {
  std::string data = "HTTP/1.1 200 OK\r\nX-Filler: " + std::string(70 * 1024, 'a');
  ResponseHead h;
  EXPECT_EQ(parse_response_head(data, h), Parse::error);
  EXPECT_EQ(parse_response_head(data.substr(0, 1000), h), Parse::need_more);
}

TEST(HttpCodecTest, BodylessAnswersAreHeadAndStatuses1xx204And304) {
  ResponseHead h;
  h.status = 200;
  EXPECT_TRUE(body_is_empty(h, "HEAD"));
  EXPECT_FALSE(body_is_empty(h, "GET"));
  for (int s : {100, 199, 204, 304}) {
    h.status = s;
    EXPECT_TRUE(body_is_empty(h, "POST")) << s;
  }
  for (int s : {200, 201, 205, 404, 500}) {
    h.status = s;
    EXPECT_FALSE(body_is_empty(h, "POST")) << s;
  }
}

// ---------------------------------------------------------------- chunked bodies

TEST(HttpCodecTest, ChunkedBodyIsDecodedAndConsumedUpToTheFinalBlankLine) {
  const std::string data = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\nNEXT";
  std::string body;
  std::size_t used = 0;
  ASSERT_EQ(decode_chunked(data, body, used), Parse::done);
  EXPECT_EQ(body, "hello 0123456789");
  EXPECT_EQ(used, data.size() - 4);
}

TEST(HttpCodecTest, ChunkedTrailersAreSkipped) {
  const std::string data = "3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
  std::string body;
  std::size_t used = 0;
  ASSERT_EQ(decode_chunked(data, body, used), Parse::done);
  EXPECT_EQ(body, "abc");
  EXPECT_EQ(used, data.size());
}

TEST(HttpCodecTest, EveryPrefixOfAChunkedBodyIsNeedMore) {
  const std::string data = "5\r\nhello\r\nff\r\n" + std::string(255, 'z') + "\r\n0\r\nT: 1\r\n\r\n";
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::string body;
    std::size_t used = 0;
    ASSERT_EQ(decode_chunked(std::string_view(data).substr(0, i), body, used), Parse::need_more)
        << i;
  }
  std::string body;
  std::size_t used = 0;
  EXPECT_EQ(decode_chunked(data, body, used), Parse::done);
  EXPECT_EQ(body.size(), 5u + 255u);
}

TEST(HttpCodecTest, MalformedChunkedBodiesAreErrors) {
  const char* bad[] = {
      "zz\r\nhello\r\n0\r\n\r\n",   // size not hex
      "\r\nhello\r\n0\r\n\r\n",     // empty size
      "5\r\nhelloXX0\r\n\r\n",      // data not followed by CRLF
      "-5\r\nhello\r\n0\r\n\r\n",   // negative size
      "5 x\r\nhello\r\n0\r\n\r\n",  // junk after the size
  };
  for (const char* text : bad) {
    std::string body;
    std::size_t used = 0;
    EXPECT_EQ(decode_chunked(text, body, used), Parse::error) << text;
  }
}

TEST(HttpCodecTest, AHugeChunkSizeIsNeedMoreOrErrorNeverAnOverflow) {
  // pos + size + 2 must not wrap around and let a chunk of 2^64-1 bytes be "complete".
  for (const char* size : {"ffffffffffffffff", "fffffffffffffffe", "fffffffffffffffd"}) {
    std::string data = std::string(size) + "\r\nabc\r\n0\r\n\r\n";
    std::string body;
    std::size_t used = 0;
    EXPECT_NE(decode_chunked(data, body, used), Parse::done) << size;
    EXPECT_TRUE(body.empty());
  }
}

TEST(HttpCodecTest, AChunkSizeLineThatNeverEndsIsAnErrorPast1KiB) {
  std::string body;
  std::size_t used = 0;
  EXPECT_EQ(decode_chunked(std::string(2000, '1'), body, used), Parse::error);
  EXPECT_EQ(decode_chunked(std::string(100, '1'), body, used), Parse::need_more);
}

// ---------------------------------------------------------------- loopback server

// A one-connection-at-a-time HTTP server on 127.0.0.1: reads each request (head and
// Content-Length body) and answers what the test's handler says.
class LoopbackServer {
 public:
  struct Action {
    std::string bytes;         // written as they are
    bool close_after = false;  // then close the connection
    bool hang = false;         // answer nothing; wait for the client to go away
  };
  using Handler = std::function<Action(const std::string& request)>;

  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("cannot listen on loopback");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  BaseUrl url(const std::string& path = "") const {
    std::string error;
    return *parse_base_url("http://127.0.0.1:" + std::to_string(port_) + path, error);
  }
  int accepts() const { return accepts_.load(); }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  // Waits until fd is readable or the server stops; false when stopping.
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void serve() {
    while (wait_readable(fd_)) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      accepts_.fetch_add(1);
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    std::string buf;
    char tmp[4096];
    for (;;) {
      // One whole request: the head, then Content-Length bytes of body.
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!wait_readable(c)) return;
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        buf.append(tmp, n);
      }
      std::size_t length = 0;
      if (auto at = buf.find("Content-Length: "); at != std::string::npos && at < end)
        length = std::stoul(buf.substr(at + 16));
      while (buf.size() < end + 4 + length) {
        if (!wait_readable(c)) return;
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        buf.append(tmp, n);
      }
      std::string request = buf.substr(0, end + 4 + length);
      buf.erase(0, request.size());
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      Action a = handler_(request);
      if (a.hang) {
        while (wait_readable(c))
          if (::recv(c, tmp, sizeof tmp, 0) <= 0) return;
        return;
      }
      ::send(c, a.bytes.data(), a.bytes.size(), MSG_NOSIGNAL);
      if (a.close_after) return;
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepts_{0};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

LoopbackServer::Action answer(std::string body, std::string type = "application/json") {
  return {"HTTP/1.1 200 OK\r\nContent-Type: " + type +
              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
          false, false};
}

// A port with nothing listening on it (bound, then closed).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TransportError::Kind kind_of(BlockingClient& client, std::chrono::milliseconds timeout) {
  try {
    client.request("POST", "/v1/x", "{}", "", timeout);
  } catch (const TransportError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no TransportError";
  return TransportError::Kind::io;
}

TEST(BlockingClientTest, SendsPrefixedTargetBearerAndBodyAndReturnsTheAnswer) {
  LoopbackServer server([](const std::string&) { return answer(R"({"rc":0})"); });
  BlockingClient client(server.url("/rtm/"));
  Reply r = client.request("POST", "/v1/server/user.add", R"({"login":"a"})", "KEY", 5s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"rc":0})");
  EXPECT_EQ(r.content_type, "application/json");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].rfind("POST /rtm/v1/server/user.add HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(reqs[0].find("Authorization: Bearer KEY\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find("Content-Length: 13\r\n"), std::string::npos);
  EXPECT_EQ(reqs[0].substr(reqs[0].size() - 13), R"({"login":"a"})");
}

TEST(BlockingClientTest, KeepAliveRequestsShareOneConnection) {
  int n = 0;
  LoopbackServer server([&](const std::string&) { return answer(std::to_string(++n)); });
  BlockingClient client(server.url());
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, std::to_string(i));
  EXPECT_EQ(server.accepts(), 1);
}

TEST(BlockingClientTest, ChunkedAnswerIsDecoded) {
  LoopbackServer server([](const std::string&) {
    return LoopbackServer::Action{
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
        "chunked\r\n\r\n4\r\n{\"rc\r\n4\r\n\":0}\r\n0\r\n\r\n",
        false, false};
  });
  BlockingClient client(server.url());
  EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, R"({"rc":0})");
  EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, R"({"rc":0})");
  EXPECT_EQ(server.accepts(), 1);
}

TEST(BlockingClientTest, AnswerWithoutLengthRunsToTheEndOfTheConnection) {
  LoopbackServer server([](const std::string&) {
    return LoopbackServer::Action{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", true,
                                  false};
  });
  BlockingClient client(server.url());
  EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, "all of it");
  EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, "all of it");
  EXPECT_EQ(server.accepts(), 2);
}

TEST(BlockingClientTest, IdleConnectionClosedByTheServerIsReopenedTransparently) {
  // The server answers keep-alive but then closes: the next request finds the connection dead
  // before any answer byte and must be sent again on a new one.
  LoopbackServer server([](const std::string&) {
    auto a = answer("ok");
    a.close_after = true;
    return a;
  });
  BlockingClient client(server.url());
  EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, "ok");
  std::this_thread::sleep_for(50ms);  // let the close arrive
  EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, "ok");
  EXPECT_EQ(server.accepts(), 2);
}

TEST(BlockingClientTest, InterimContinueIsSkipped) {
  LoopbackServer server([](const std::string&) {
    auto a = answer("done");
    a.bytes = "HTTP/1.1 100 Continue\r\n\r\n" + a.bytes;
    return a;
  });
  BlockingClient client(server.url());
  Reply r = client.request("POST", "/", "x", "", 5s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "done");
}

TEST(BlockingClientTest, ErrorStatusIsAnAnswerNotATransportError) {
  LoopbackServer server([](const std::string&) {
    return LoopbackServer::Action{"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\nno",
                                  false, false};
  });
  BlockingClient client(server.url());
  Reply r = client.request("POST", "/", "x", "", 5s);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "no");
}

TEST(BlockingClientTest, MalformedAnswerIsAnIoTransportError) {
  LoopbackServer server([](const std::string&) {
    return LoopbackServer::Action{"SMTP ready\r\n\r\n", false, false};
  });
  BlockingClient client(server.url());
  try {
    client.request("GET", "/", "", "", 5s);
    FAIL() << "no TransportError";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), TransportError::Kind::io);
    EXPECT_NE(std::string(e.what()).find("malformed"), std::string::npos) << e.what();
  }
}

TEST(BlockingClientTest, AnswerCutShortIsAnIoTransportError) {
  LoopbackServer server([](const std::string&) {
    return LoopbackServer::Action{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true,
                                  false};
  });
  BlockingClient client(server.url());
  EXPECT_EQ(kind_of(client, 5000ms), TransportError::Kind::io);
}

TEST(BlockingClientTest, NoAnswerWithinTheTimeoutIsATimeoutAndTheClientRecovers) {
  std::atomic<int> n{0};
  LoopbackServer server([&](const std::string&) {
    if (n.fetch_add(1) == 0) return LoopbackServer::Action{"", false, true};
    return answer("late but fine");
  });
  BlockingClient client(server.url());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(kind_of(client, 300ms), TransportError::Kind::timeout);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(client.request("GET", "/", "", "", 5s).body, "late but fine");
}

TEST(BlockingClientTest, NobodyListeningIsAConnectTransportError) {
  std::string error;
  BlockingClient client(*parse_base_url("http://127.0.0.1:" + std::to_string(free_port()), error));
  EXPECT_EQ(kind_of(client, 5000ms), TransportError::Kind::connect);
}

TEST(BlockingClientTest, TransportErrorsNameTheOriginButNeverThePath) {
  // Webhook URLs may carry their secret in the path; errors reach the log.
  std::string error;
  std::string origin = "http://127.0.0.1:" + std::to_string(free_port());
  BlockingClient client(*parse_base_url(origin + "/services/T0/B0/s3cr3t", error));
  try {
    client.request("POST", "", "{}", "", 5000ms);
    FAIL() << "nobody listens there";
  } catch (const TransportError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(origin), std::string::npos) << what;
    EXPECT_EQ(what.find("s3cr3t"), std::string::npos) << what;
  }
}

TEST(BlockingClientTest, CancelFlagAbandonsTheCallInProgress) {
  LoopbackServer server([](const std::string&) { return LoopbackServer::Action{"", false, true}; });
  BlockingClient client(server.url());
  static volatile std::sig_atomic_t flag = 0;
  flag = 0;
  client.set_cancel_flag(&flag);
  std::thread setter([] {
    std::this_thread::sleep_for(200ms);
    flag = 1;
  });
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(kind_of(client, 30000ms), TransportError::Kind::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  setter.join();
}

}  // namespace
}  // namespace rtm::http
