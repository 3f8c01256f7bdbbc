// The rtm CLI subcommands: option structs filled by main.cpp's CLI11 parser and the functions
// that run them against the server. Each returns the process exit code or throws ApiError,
// UsageError or http::TransportError (main.cpp maps those to messages and exit codes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api_client.hpp"

namespace rtm::cli {

struct Globals {
  std::string url = "http://127.0.0.1:8080";
  std::string api_key;
  std::string data_dir;
  bool json = false;
};

struct UserAddOptions {
  std::string login;
  std::string password;
  bool password_given = false;
  std::uint64_t uid = 0;  // 0: the server picks
};

struct SendOptions {
  std::uint64_t from = 0;  // 0: the system
  std::uint64_t to = 0;
  std::uint64_t gid = 0;
  std::uint64_t rid = 0;
  std::vector<std::uint64_t> to_uids;
  std::string msg;
  int mtype = 30;
  std::string attrs;
  bool attrs_given = false;
  std::uint64_t mid = 0;  // 0: the server assigns one
};

struct TailOptions {
  std::uint64_t uid = 0;
  std::vector<std::string> topics;  // extra session.subscribe topics
  int timeout = 30;                 // get_events long-poll timeout, s
};

struct HistoryOptions {
  std::uint64_t uid = 0;
  std::uint64_t with = 0;
  std::uint64_t gid = 0;
  std::uint64_t rid = 0;
  int limit = 0;  // 0: server default
  std::uint64_t before_mid = 0;
};

struct FilesListOptions {
  int limit = 0;  // 0: server default (100)
};

struct FilesGcOptions {
  std::int64_t grace = -1;  // -1: server default (3600 s)
};

// The API key: --api-key / RTM_API_KEY, else DATA_DIR/api-key when a data dir is given.
std::string resolve_api_key(const Globals& g);

int run_health(ApiClient& api, const Globals& g);
int run_user_add(ApiClient& api, const Globals& g, UserAddOptions o);
int run_send(ApiClient& api, const Globals& g, const SendOptions& o);
int run_tail(ApiClient& api, const Globals& g, const TailOptions& o);
int run_history(ApiClient& api, const Globals& g, const HistoryOptions& o);
int run_files_list(ApiClient& api, const Globals& g, const FilesListOptions& o);
int run_files_gc(ApiClient& api, const Globals& g, const FilesGcOptions& o);
int run_webhooks_failed(ApiClient& api, const Globals& g, int limit);

}  // namespace rtm::cli
