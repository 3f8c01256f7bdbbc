// See file_transfer.hpp.
#include "net/file_transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/url/parse.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "api/async_bridge.hpp"
#include "api/reply.hpp"
#include "core/random.hpp"
#include "files/blob_store.hpp"
#include "net/file_headers.hpp"
#include "net/http_answer.hpp"
#include "net/query_param.hpp"

namespace rtm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 64 * 1024;

std::string with_headers(std::string answer, const std::string& extra) {
  answer.insert(answer.find("\r\n\r\n") + 2, extra);
  return answer;
}

awaitable<void> write_text(HttpStream& stream, AccessLine& line, const std::string& text) {
  stream.expires_after(std::chrono::seconds(30));
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text), kUseTuple);
  line.wrote(text, n);
}

// An error answer after which the connection closes (what the client still sends is not
// read: it may be a body we refused).
awaitable<bool> refuse(HttpStream& stream, AccessLine& line, unsigned version, Rc rc,
                       std::string msg, api::Services& services, const std::string& cors) {
  auto reply = api::Reply::error(rc, std::move(msg));
  services.metrics.record(reply.rc);
  std::string answer = with_headers(error_answer(version, reply), cors);
  co_await write_text(stream, line, answer);
  co_return false;
}

}  // namespace

awaitable<bool> serve_upload(HttpStream& stream, beast::flat_buffer& buffer,
                             http::request_parser<http::empty_body>& head, api::Services& services,
                             std::chrono::seconds read_timeout, std::string cors,
                             AccessLine& line) {
  Node& node = services.node;
  const auto& h = head.get();
  unsigned version = h.version();
  if (!services.blobs)
    co_return co_await refuse(stream, line, version, Rc::Unavailable, "files are not enabled",
                              services, cors);
  std::string token = query_param(h.target(), "token").value_or("");
  if (token.empty())
    co_return co_await refuse(stream, line, version, Rc::InvalidToken,
                              "token is missing (?token=T)", services, cors);
  int mtype = 40;
  if (auto it = h.find("X-Rtm-Mtype"); it != h.end()) {
    auto v = parse_upload_mtype(it->value());
    if (!v)
      co_return co_await refuse(stream, line, version, Rc::InvalidParameter,
                                "X-Rtm-Mtype must be 40 to 50", services, cors);
    mtype = *v;
  }
  std::string attrs(h["X-Rtm-Attrs"]);
  std::string name = clean_file_name(h["X-Rtm-File-Name"]);
  std::string type(h[http::field::content_type]);
  if (!safe_content_type(type)) type = "application/octet-stream";
  if (auto length = head.content_length(); length && *length > services.blobs->max_size())
    co_return co_await refuse(
        stream, line, version, Rc::PayloadTooLarge,
        "the file is over " + std::to_string(services.blobs->max_size()) + " bytes", services,
        cors);
  // The grant is the store's (take it once, even racing another upload): off this loop.
  std::optional<std::optional<Result<UploadGrant>>> taken;
  try {
    auto work = [&node, token] { return node.files().take_upload(token); };
    taken = co_await api::run_blocking(services.pool_for_store(), std::move(work));
  } catch (const api::CallError& e) {  // RateLimited: the blocking pool is full
    taken.emplace(Result<UploadGrant>(e.error));
  }
  auto& grant = **taken;
  if (!grant)
    co_return co_await refuse(stream, line, version, grant.error().rc, grant.error().msg, services,
                              cors);
  const bool keep = h.keep_alive();  // `head` and `h` are moved into the body parser below
  if (beast::iequals(h[http::field::expect], "100-continue")) {
    std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    co_await write_text(stream, line, go_on);
  }

  auto upload = services.blobs->begin();
  if (!upload)
    co_return co_await refuse(stream, line, version, upload.error().rc, upload.error().msg,
                              services, cors);
  http::request_parser<http::buffer_body> body(std::move(head));
  body.body_limit(services.blobs->max_size());
  std::vector<char> chunk(kChunk);
  while (!body.is_done()) {
    body.get().body().data = chunk.data();
    body.get().body().size = chunk.size();
    stream.expires_after(read_timeout);  // a client that stops sending is dropped
    auto [ec, n] = co_await http::async_read(stream, buffer, body, kUseTuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit) {
      upload->reset();  // the temporary file goes before the answer
      co_return co_await refuse(
          stream, line, version, Rc::PayloadTooLarge,
          "the file is over " + std::to_string(services.blobs->max_size()) + " bytes", services,
          cors);
    }
    if (ec) co_return false;  // cut off: the Upload's destructor removes what arrived
    std::size_t got = chunk.size() - body.get().body().size;
    if (auto appended = (*upload)->append(chunk.data(), got); !appended) {
      upload->reset();
      co_return co_await refuse(stream, line, version, appended.error().rc, appended.error().msg,
                                services, cors);
    }
  }
  stream.expires_never();

  // fsync, then the record and the message: on the blocking pool, off this event loop.
  // The job owns the upload: it may outlive this coroutine (a shutdown stops the loop).
  std::shared_ptr<files::Upload> raw = std::move(*upload);
  std::optional<std::optional<Result<FileSendAck>>> sent;
  try {
    auto start = [&services, raw, grant = *grant, name, type, mtype, attrs](auto done) mutable {
      services.pool_for_store().post([&services, raw, grant = std::move(grant),
                                      name = std::move(name), type = std::move(type), mtype,
                                      attrs = std::move(attrs), done = std::move(done)]() mutable {
        auto blob = raw->commit();
        if (!blob) return done(Result<FileSendAck>(blob.error()));
        FileRecord file;
        file.id = random_token(16);
        file.sha256 = blob->sha256;
        file.size = blob->size;
        file.name = std::move(name);
        file.type = std::move(type);
        services.node.files().send(
            grant, std::move(file), mtype, std::move(attrs),
            [done](Result<FileSendAck> ack) mutable { done(std::move(ack)); });
      });
    };
    sent = co_await api::await_callback<Result<FileSendAck>>(std::move(start));
  } catch (const api::CallError& e) {
    sent.emplace(Result<FileSendAck>(e.error));
  }
  auto& ack = **sent;
  if (!ack)
    co_return co_await refuse(stream, line, version, ack.error().rc, ack.error().msg, services,
                              cors);
  services.metrics.record(Rc::Ok);
  std::string answer_body = "{\"rc\":0,\"mid\":" + std::to_string(ack->mid) +
                            ",\"mtime\":" + std::to_string(ack->mtime) +
                            ",\"file\":" + ack->file_json + "}";
  std::string answer = std::string(version == 10 ? "HTTP/1.0" : "HTTP/1.1") +
                       " 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(answer_body.size()) + "\r\n" + cors +
                       (keep ? "" : "Connection: close\r\n") + "\r\n" + answer_body;
  co_await write_text(stream, line, answer);
  co_return keep;
}

awaitable<bool> serve_download(HttpStream& stream, const http::request<http::empty_body>& req,
                               api::Services& services, std::string cors, AccessLine& line) {
  unsigned version = req.version();
  auto url = boost::urls::parse_origin_form(req.target());
  std::string id = url ? std::string(url->path()).substr(kFilesPath.size()) : "";
  if (!services.blobs || id.empty() || id.find('/') != std::string::npos)
    co_return co_await refuse(stream, line, version, Rc::NotFound, "no such file", services, cors);
  std::string exp = query_param(req.target(), "exp").value_or("");
  std::string sig = query_param(req.target(), "sig").value_or("");
  Node& node = services.node;
  std::optional<std::optional<Result<FileRecord>>> found;
  try {
    auto work = [&node, id, exp, sig] { return node.files().for_download(id, exp, sig); };
    found = co_await api::run_blocking(services.pool_for_store(), std::move(work));
  } catch (const api::CallError& e) {  // RateLimited: the blocking pool is full
    found.emplace(Result<FileRecord>(e.error));
  }
  auto& file = **found;
  if (!file)
    co_return co_await refuse(stream, line, version, file.error().rc, file.error().msg, services,
                              cors);
  auto path = services.blobs->path_of(file->sha256);
  int fd = path ? ::open(path->c_str(), O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0)
    co_return co_await refuse(stream, line, version, Rc::NotFound, "the file's bytes are gone",
                              services, cors);
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  struct stat st {};
  ::fstat(fd, &st);
  auto size = static_cast<std::uint64_t>(st.st_size);

  bool bad = false;
  auto range = parse_range(req[http::field::range], size, bad);
  std::string etag = "\"" + file->sha256 + "\"";
  if (bad) {
    std::string answer =
        std::string("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */") +
        std::to_string(size) + "\r\nContent-Length: 0\r\n" + cors + "\r\n";
    co_await write_text(stream, line, answer);
    co_return req.keep_alive();
  }
  std::uint64_t first = range ? range->first : 0;
  std::uint64_t count = range ? range->second - range->first + 1 : size;
  bool keep = req.keep_alive();
  std::string head =
      std::string(version == 10 ? "HTTP/1.0" : "HTTP/1.1") +
      (range ? " 206 Partial Content" : " 200 OK") + "\r\nContent-Type: " + file->type +
      "\r\nContent-Length: " + std::to_string(count) + "\r\nETag: " + etag +
      "\r\nAccept-Ranges: bytes\r\nContent-Disposition: " + content_disposition(file->name) +
      "\r\nX-Content-Type-Options: nosniff\r\nCache-Control: private, max-age=3600\r\n";
  if (range)
    head += "Content-Range: bytes " + std::to_string(first) + "-" +
            std::to_string(first + count - 1) + "/" + std::to_string(size) + "\r\n";
  head += cors + (keep ? "" : "Connection: close\r\n") + "\r\n";
  services.metrics.record(Rc::Ok);
  co_await write_text(stream, line, head);
  if (req.method() == http::verb::head) co_return keep;
  std::vector<char> chunk(kChunk);
  std::uint64_t left = count;
  off_t offset = static_cast<off_t>(first);
  while (left > 0) {
    ssize_t n = ::pread(fd, chunk.data(), std::min<std::uint64_t>(left, chunk.size()), offset);
    if (n <= 0) co_return false;  // the blob shrank under us: cut the answer short
    stream.expires_after(std::chrono::seconds(30));  // a reader that stops is dropped
    auto [ec, w] = co_await asio::async_write(
        stream, asio::buffer(chunk.data(), static_cast<std::size_t>(n)), kUseTuple);
    line.wrote(w);
    if (ec) co_return false;
    offset += n;
    left -= static_cast<std::uint64_t>(n);
  }
  stream.expires_never();
  co_return keep;
}

}  // namespace rtm::net
