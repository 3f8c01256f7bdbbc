// The bytes of files over HTTP (API.md section 5): `POST /v1/files/upload?token=T` streams
// the body into the blob store (never whole in memory, bounded while it streams, nothing kept
// unless it all arrived) and sends the file's message; `GET /v1/files/<id>?exp=&sig=` checks
// the signed link and streams the blob back, with Range. docs/semantics.md "Files".
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>
#include <string_view>

#include "api/method_table.hpp"
#include "net/access_log.hpp"
#include "net/any_stream.hpp"

namespace rtm::net {

// The path prefix of both (uploads at /v1/files/upload, downloads at /v1/files/<id>).
inline constexpr std::string_view kFilesPath = "/v1/files/";

// `head` has read the request's header. Answers and returns whether the connection may be
// kept (false: it is closed after the answer). `line` is told what was answered.
boost::asio::awaitable<bool> serve_upload(
    HttpStream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::request_parser<boost::beast::http::empty_body>& head,
    api::Services& services, std::chrono::seconds read_timeout, std::string cors_headers,
    AccessLine& line);

// A GET or HEAD of /v1/files/<id>; the request has no body. Returns whether the connection
// may be kept.
boost::asio::awaitable<bool> serve_download(
    HttpStream& stream, const boost::beast::http::request<boost::beast::http::empty_body>& req,
    api::Services& services, std::string cors_headers, AccessLine& line);

}  // namespace rtm::net
