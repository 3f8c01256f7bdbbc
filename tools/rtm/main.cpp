// rtm: the command-line client of the rtm server (docs/cli.md). Parses the arguments with
// CLI11, runs one subcommand, and maps failures to exit codes: 1 for an error answer
// ("error: Name (rc): msg"), 2 for bad usage or no answer from the server.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.hpp"
#include "http_client/client_tls.hpp"

using namespace rtm::cli;

int main(int argc, char** argv) {
  Globals g;
  CLI::App app{"rtm: command-line client of the rtm real-time messaging server", "rtm"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.add_option("--url", g.url, "server base URL")->envname("RTM_URL")->capture_default_str();
  app.add_option("--api-key", g.api_key, "server API key (server methods)")->envname("RTM_API_KEY");
  app.add_option("--data-dir", g.data_dir, "server data dir: read the API key from DIR/api-key")
      ->envname("RTM_DATA_DIR");
  app.add_flag("--json", g.json, "print the raw JSON answers");
  std::string ca_file;
  app.add_option("--ca", ca_file,
                 "PEM CA certificates to verify an https server with (default: the system's)")
      ->envname("RTM_CA");

  CLI::App* health = app.add_subcommand("health", "check that the server answers (GET /healthz)");

  CLI::App* user = app.add_subcommand("user", "manage users");
  user->require_subcommand(1);
  UserAddOptions ua;
  CLI::App* user_add = user->add_subcommand("add", "create a user; prints its uid");
  user_add->add_option("login", ua.login, "login name")->required();
  CLI::Option* pw = user_add->add_option(
      "--password", ua.password, "password (default: one line of stdin, or asked on a terminal)");
  user_add->add_option("--uid", ua.uid, "uid to give the user (default: the server picks)");

  SendOptions so;
  CLI::App* send = app.add_subcommand("send", "send a message as the server; prints mid and mtime");
  send->add_option("msg", so.msg, "message text")->required();
  send->add_option("--from", so.from, "sender uid (default 0: the system)");
  auto* to = send->add_option("--to", so.to, "recipient uid (message.send)");
  auto* to_uids = send->add_option("--to-uids", so.to_uids,
                                   "recipient uids, comma-separated "
                                   "(message.send_many)")
                      ->delimiter(',');
  auto* gid = send->add_option("--gid", so.gid, "group id (message.send_group)");
  auto* rid = send->add_option("--rid", so.rid, "room id (message.send_room)");
  to->excludes(to_uids)->excludes(gid)->excludes(rid);
  to_uids->excludes(gid)->excludes(rid);
  gid->excludes(rid);
  send->add_option("--mtype", so.mtype, "message type (30 = chat text, 51-255 application)")
      ->check(CLI::Range(0, 255))
      ->capture_default_str();
  CLI::Option* attrs = send->add_option("--attrs", so.attrs, "attributes string");
  send->add_option("--mid", so.mid, "own message id (makes a retried send idempotent)");

  TailOptions to_opts;
  CLI::App* tail = app.add_subcommand("tail", "follow a user's events by long polling");
  tail->add_option("uid", to_opts.uid, "user to follow")->required();
  tail->add_option("--subscribe", to_opts.topics,
                   "also subscribe to TOPIC (group:G, room:R, presence:U, channel:NAME)");
  tail->add_option("--timeout", to_opts.timeout, "long-poll timeout, s")
      ->check(CLI::Range(0, 60))
      ->capture_default_str();

  HistoryOptions ho;
  CLI::App* history = app.add_subcommand("history", "list stored messages, newest first");
  history->add_option("--uid", ho.uid, "viewpoint user (needed with --with)");
  auto* with = history->add_option("--with", ho.with, "the other user of a p2p conversation");
  auto* hgid = history->add_option("--gid", ho.gid, "a group's messages");
  auto* hrid = history->add_option("--rid", ho.rid, "a room's messages");
  with->excludes(hgid)->excludes(hrid);
  hgid->excludes(hrid);
  history->add_option("--limit", ho.limit, "at most N messages (1-1000, server default 100)");
  history->add_option("--before-mid", ho.before_mid, "only messages older than this mid");

  CLI::App* files = app.add_subcommand("files", "stored files (API.md section 5)");
  files->require_subcommand(1);
  FilesListOptions fl;
  CLI::App* files_ls = files->add_subcommand("ls", "list stored files, newest first");
  files_ls->add_option("--limit", fl.limit, "at most N files (1-1000, server default 100)");
  FilesGcOptions fg;
  CLI::App* files_gc = files->add_subcommand(
      "gc", "apply the retention now: forget expired files, remove unreferenced bytes");
  files_gc->add_option("--grace", fg.grace,
                       "keep unreferenced bytes younger than S seconds (server default 3600)");

  CLI::App* webhooks = app.add_subcommand("webhooks", "webhook deliveries");
  webhooks->require_subcommand(1);
  int failed_limit = 0;
  CLI::App* webhooks_failed =
      webhooks->add_subcommand("failed", "list events given up after their last attempt");
  webhooks_failed->add_option("--limit", failed_limit, "at most N (1-1000, server default 100)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help or the usage error
    return code == 0 ? 0 : 2;
  }
  ua.password_given = pw->count() > 0;
  so.attrs_given = attrs->count() > 0;

  std::string error;
  auto url = rtm::http::parse_base_url(g.url, error);
  if (!url) {
    std::cerr << "rtm: --url: " << error << '\n';
    return 2;
  }
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (url->tls) {
    tls = rtm::http::make_client_tls(ca_file, error);
    if (!tls) {
      std::cerr << "rtm: --ca: " << error << '\n';
      return 2;
    }
  }
  ApiClient api(*url, resolve_api_key(g), std::move(tls));
  try {
    if (health->parsed()) return run_health(api, g);
    if (user_add->parsed()) return run_user_add(api, g, ua);
    if (send->parsed()) return run_send(api, g, so);
    if (tail->parsed()) return run_tail(api, g, to_opts);
    if (history->parsed()) return run_history(api, g, ho);
    if (files_ls->parsed()) return run_files_list(api, g, fl);
    if (files_gc->parsed()) return run_files_gc(api, g, fg);
    if (webhooks_failed->parsed()) return run_webhooks_failed(api, g, failed_limit);
  } catch (const ApiError& e) {
    std::cerr << "error: " << e.name() << " (" << e.rc() << "): " << e.what() << '\n';
    return 1;
  } catch (const UsageError& e) {
    std::cerr << "rtm: " << e.what() << '\n';
    return 2;
  } catch (const rtm::http::TransportError& e) {
    std::cerr << "rtm: " << e.what() << '\n';
    return 2;
  }
  return 2;
}
