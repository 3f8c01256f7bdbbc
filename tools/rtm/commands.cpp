// The rtm CLI subcommands: health, user add, send, tail, history.
#include "commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <csignal>
#include <fstream>
#include <iostream>

#include "format.hpp"

namespace rtm::cli {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int) { g_interrupted = 1; }

// SIGINT/SIGTERM set g_interrupted; no SA_RESTART, so a wait in progress wakes up.
void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string trim(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// Reads a line from the terminal with echo off, prompting on stderr.
std::string read_hidden(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::cerr << "\n";
  return line;
}

// The password of `user add`: --password, else one line of stdin when it is not a terminal,
// else asked twice on the terminal.
std::string obtain_password(const UserAddOptions& o) {
  if (o.password_given) return o.password;
  std::string pw;
  if (!isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, pw)) throw UsageError("no password on stdin");
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  } else {
    pw = read_hidden("Password: ");
    if (read_hidden("Repeat password: ") != pw) throw UsageError("the passwords do not match");
  }
  if (pw.empty()) throw UsageError("empty password");
  return pw;
}

void print_raw(const std::string& raw) {
  std::cout << raw;
  if (raw.empty() || raw.back() != '\n') std::cout << '\n';
}

}  // namespace

std::string resolve_api_key(const Globals& g) {
  if (!g.api_key.empty() || g.data_dir.empty()) return g.api_key;
  std::string path = g.data_dir + "/api-key";
  std::ifstream in(path);
  if (!in) return {};  // the server call then says how to give a key
  std::string key;
  std::getline(in, key);
  return trim(key);
}

int run_health(ApiClient& api, const Globals& g) {
  std::string raw;
  json::object ans = api.health(&raw);
  if (g.json) {
    print_raw(raw);
  } else {
    const json::value* st = ans.if_contains("status");
    std::cout << (st && st->is_string() ? std::string(st->as_string()) : std::string("ok")) << '\n';
  }
  return 0;
}

int run_user_add(ApiClient& api, const Globals& g, UserAddOptions o) {
  json::object p;
  p["login"] = o.login;
  p["password"] = obtain_password(o);
  if (o.uid) p["uid"] = o.uid;
  std::string raw;
  json::object ans = api.call("user.add", p, Scope::server, ApiClient::kDefaultTimeout, &raw);
  if (g.json)
    print_raw(raw);
  else
    std::cout << json::serialize(ans["uid"]) << '\n';
  return 0;
}

int run_send(ApiClient& api, const Globals& g, const SendOptions& o) {
  json::object p;
  std::string method;
  int targets = (o.to != 0) + (o.gid != 0) + (o.rid != 0) + (!o.to_uids.empty());
  if (targets != 1) throw UsageError("send needs exactly one of --to, --to-uids, --gid, --rid");
  if (o.to) {
    method = "message.send";
    p["to"] = o.to;
  } else if (!o.to_uids.empty()) {
    method = "message.send_many";
    json::array uids;
    for (auto u : o.to_uids) uids.emplace_back(u);
    p["to_uids"] = std::move(uids);
  } else if (o.gid) {
    method = "message.send_group";
    p["gid"] = o.gid;
  } else {
    method = "message.send_room";
    p["rid"] = o.rid;
  }
  if (o.from) p["from"] = o.from;
  p["mtype"] = o.mtype;
  p["msg"] = o.msg;
  if (o.attrs_given) p["attrs"] = o.attrs;
  if (o.mid) p["mid"] = o.mid;
  std::string raw;
  json::object ans = api.call(method, p, Scope::server, ApiClient::kDefaultTimeout, &raw);
  if (g.json)
    print_raw(raw);
  else
    std::cout << "mid=" << json::serialize(ans["mid"]) << " mtime=" << json::serialize(ans["mtime"])
              << '\n';
  return 0;
}

int run_tail(ApiClient& api, const Globals& g, const TailOptions& o) {
  json::object tp;
  tp["uid"] = o.uid;
  tp["ttl"] = 300;  // used once, right now
  std::string token(api.call("user.token", tp, Scope::server)["token"].as_string());

  std::string session(api.call("session.create", {}, Scope::client)["session"].as_string());
  auto destroy = [&] {
    try {
      json::object dp;
      dp["session"] = session;
      api.call("session.destroy", dp, Scope::client, 3s);
    } catch (const std::exception&) {
    }
  };
  try {
    json::object ap;
    ap["session"] = session;
    ap["token"] = token;
    ap["mode"] = "multi";
    api.call("session.authorize", ap, Scope::client);
    for (const auto& topic : o.topics) {
      json::object sp;
      sp["session"] = session;
      sp["topic"] = topic;
      api.call("session.subscribe", sp, Scope::client);
    }
  } catch (const ApiError&) {
    destroy();  // do not leave a half-set-up session behind
    throw;
  }
  std::cerr << "rtm: following uid " << o.uid << " (Ctrl-C to stop)" << std::endl;

  catch_interrupts();
  api.http().set_cancel_flag(&g_interrupted);
  json::object gp;
  gp["session"] = session;
  gp["timeout"] = o.timeout;
  const auto wait = std::chrono::milliseconds(o.timeout * 1000) + 15s;
  for (;;) {
    json::object ans;
    try {
      ans = api.call("session.get_events", gp, Scope::client, wait);
    } catch (const http::TransportError& e) {
      if (e.kind() != http::TransportError::Kind::cancelled) throw;
      // Ctrl-C: end the session so it does not linger until its idle timeout.
      api.http().set_cancel_flag(nullptr);
      destroy();
      return 0;
    }
    const json::value* events = ans.if_contains("events");
    if (!events || !events->is_array()) continue;
    for (const json::value& ev : events->as_array()) {
      if (!ev.is_object()) continue;
      if (g.json)
        std::cout << json::serialize(ev) << '\n';
      else
        std::cout << format_event(ev.as_object()) << '\n';
    }
    std::cout << std::flush;
  }
}

int run_history(ApiClient& api, const Globals& g, const HistoryOptions& o) {
  json::object p;
  int targets = (o.with != 0) + (o.gid != 0) + (o.rid != 0);
  if (targets != 1) throw UsageError("history needs exactly one of --with, --gid, --rid");
  if (o.with && !o.uid) throw UsageError("history --with needs --uid (whose conversation)");
  if (o.uid) p["uid"] = o.uid;
  if (o.with) p["with"] = o.with;
  if (o.gid) p["gid"] = o.gid;
  if (o.rid) p["rid"] = o.rid;
  if (o.limit) p["limit"] = o.limit;
  if (o.before_mid) p["before_mid"] = o.before_mid;
  std::string raw;
  json::object ans =
      api.call("message.history", p, Scope::server, ApiClient::kDefaultTimeout, &raw);
  if (g.json) {
    print_raw(raw);
    return 0;
  }
  if (const json::value* msgs = ans.if_contains("messages"); msgs && msgs->is_array())
    for (const json::value& m : msgs->as_array())
      if (m.is_object()) std::cout << format_message(m.as_object()) << '\n';
  return 0;
}

// One line per file: created time, id, size, sender, kind, name.
int run_files_list(ApiClient& api, const Globals& g, const FilesListOptions& o) {
  json::object p;
  if (o.limit) p["limit"] = o.limit;
  std::string raw;
  json::object ans = api.call("files.list", p, Scope::server, ApiClient::kDefaultTimeout, &raw);
  if (g.json) {
    print_raw(raw);
    return 0;
  }
  const json::value* files = ans.if_contains("files");
  if (!files || !files->is_array()) return 0;
  for (const json::value& v : files->as_array()) {
    if (!v.is_object()) continue;
    const json::object& f = v.as_object();
    auto text = [&](const char* k) {
      const json::value* x = f.if_contains(k);
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    auto number = [&](const char* k) -> std::int64_t {
      const json::value* x = f.if_contains(k);
      return x && x->is_int64()    ? x->as_int64()
             : x && x->is_uint64() ? static_cast<std::int64_t>(x->as_uint64())
                                   : 0;
    };
    std::cout << format_mtime(number("created")) << "  " << text("id") << "  " << number("size")
              << " B  from " << number("from") << "  " << text("kind") << "  " << text("name")
              << '\n';
  }
  return 0;
}

int run_files_gc(ApiClient& api, const Globals& g, const FilesGcOptions& o) {
  json::object p;
  if (o.grace >= 0) p["grace"] = o.grace;
  std::string raw;
  json::object ans = api.call("files.gc", p, Scope::server, ApiClient::kDefaultTimeout, &raw);
  if (g.json) {
    print_raw(raw);
    return 0;
  }
  auto number = [&](const char* k) -> std::int64_t {
    const json::value* x = ans.if_contains(k);
    return x && x->is_int64()    ? x->as_int64()
           : x && x->is_uint64() ? static_cast<std::int64_t>(x->as_uint64())
                                 : 0;
  };
  std::cout << number("files_expired") << " files expired, " << number("blobs_removed")
            << " blobs removed, " << number("bytes_freed") << " bytes freed\n";
  return 0;
}

// One line per dead letter: id, attempts, url, event type, last error.
int run_webhooks_failed(ApiClient& api, const Globals& g, int limit) {
  json::object p;
  if (limit) p["limit"] = limit;
  std::string raw;
  json::object ans =
      api.call("webhooks.failed", p, Scope::server, ApiClient::kDefaultTimeout, &raw);
  if (g.json) {
    print_raw(raw);
    return 0;
  }
  const json::value* failed = ans.if_contains("failed");
  if (!failed || !failed->is_array()) return 0;
  for (const json::value& v : failed->as_array()) {
    if (!v.is_object()) continue;
    const json::object& f = v.as_object();
    std::string type;
    if (const json::value* e = f.if_contains("event"); e && e->is_object())
      if (const json::value* t = e->as_object().if_contains("type"); t && t->is_string())
        type = std::string(t->as_string());
    auto text = [&](const char* k) {
      const json::value* x = f.if_contains(k);
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    const json::value* id = f.if_contains("id");
    const json::value* attempts = f.if_contains("attempts");
    std::cout << (id ? json::serialize(*id) : "?") << "  "
              << (attempts ? json::serialize(*attempts) : "?") << " attempts  " << text("url")
              << "  " << type << "  " << text("error") << '\n';
  }
  return 0;
}

}  // namespace rtm::cli
