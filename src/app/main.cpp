// rtmd: reads the configuration, opens the store and broker, starts the engine and the HTTP
// listener on one io_context per core, and drains on SIGTERM/SIGINT (API.md section 1).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/async_bridge.hpp"
#include "api/call_log.hpp"
#include "api/metrics_text.hpp"
#include "app/config.hpp"
#include "app/data_dir.hpp"
#include "app/engines.hpp"
#include "app/host_port.hpp"
#include "app/startup_log.hpp"
#include "core/node/node.hpp"
#include "core/random.hpp"
#include "files/blob_store.hpp"
#include "files/file_retention.hpp"
#include "http_client/client_tls.hpp"
#include "logging/log.hpp"
#include "net/http_server.hpp"
#include "net/server_tls.hpp"
#include "webhooks/webhook_sender.hpp"

namespace asio = boost::asio;
using rtm::app::Config;

namespace {

// Many long polls and sockets are the normal load of a messaging server: take every file
// descriptor the hard limit allows.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// One line on stderr: plain before the log is configured and in the text format (a person
// reads it), a log line in the json format (a log shipper reads every line).
int fail(const std::string& msg) {
  if (rtm::logging::format() == rtm::logging::Format::Json)
    rtm::logging::error("rtmd.start_failed", {{"msg", msg}});
  else
    std::cerr << "rtmd: " << msg << std::endl;
  return 2;
}

// The API key from config, or DATA_DIR/api-key, generated (mode 0600) on first start.
rtm::Result<std::string> resolve_api_key(const Config& c, bool& generated, std::string& path) {
  if (!c.api_key.empty()) return c.api_key;
  path = (std::filesystem::path(c.data_dir) / "api-key").string();
  std::ifstream in(path);
  if (in) {
    std::string key;
    std::getline(in, key);
    if (!key.empty()) return key;
  }
  std::string key = rtm::random_token(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return rtm::make_error(rtm::Rc::Unavailable,
                           "cannot write " + path + ": " + std::strerror(errno));
  std::string line = key + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::fchmod(fd, 0600);
  ::close(fd);
  if (!ok) return rtm::make_error(rtm::Rc::Unavailable, "cannot write " + path);
  generated = true;
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  auto outcome = rtm::app::load_config(argc, argv, config);
  if (!outcome) return fail(outcome.error().msg);
  if (*outcome == rtm::app::ConfigOutcome::ExitOk) return 0;

  raise_open_file_limit();
  rtm::logging::Format log_format = rtm::logging::Format::Text;
  rtm::logging::Level log_level = rtm::logging::Level::Info;
  rtm::logging::parse_format(config.log_format, log_format);  // both checked by load_config
  rtm::logging::parse_level(config.log_level, log_level);
  rtm::logging::configure(log_format, log_level);

  // Before anything in it is touched: the data dir's lock, and modes only its user can read.
  auto data_dir = rtm::app::open_data_dir(config.data_dir);
  if (!data_dir) return fail(data_dir.error().msg);

  bool generated = false;
  std::string key_path;
  auto api_key = resolve_api_key(config, generated, key_path);
  if (!api_key) return fail(api_key.error().msg);

  auto store = rtm::app::open_store(config.store);
  if (!store) return fail(store.error().msg);
  auto broker = rtm::app::open_broker(config.broker);
  if (!broker) return fail(broker.error().msg);

  rtm::NodeConfig node_config;
  node_config.node_id = config.node_id;
  node_config.max_msg_bytes = config.max_msg_bytes;
  node_config.max_attrs_bytes = config.max_attrs_bytes;
  node_config.max_sessions_per_user = config.max_sessions_per_user;
  node_config.max_subscriptions_per_session = config.max_subscriptions_per_session;
  node_config.unauthorized_session_ttl_ms =
      static_cast<std::int64_t>(config.unauthorized_session_ttl_s) * 1000;
  node_config.max_unauthorized_sessions_per_address = config.max_unauthorized_sessions_per_address;
  node_config.max_unauthorized_sessions = config.max_unauthorized_sessions;
  // Checked by load_config: every rate parses.
  node_config.rate_session_create = *rtm::parse_rate_limit(config.rate_session_create, "");
  node_config.rate_session_authorize = *rtm::parse_rate_limit(config.rate_session_authorize, "");
  node_config.rate_channel_poll = *rtm::parse_rate_limit(config.rate_channel_poll, "");
  node_config.rate_send = *rtm::parse_rate_limit(config.rate_send, "");
  node_config.channel_queue_limit = config.channel_queue_limit;
  node_config.channel_timeout_ms = static_cast<std::int64_t>(config.channel_timeout_s) * 1000;
  node_config.server_events_limit = config.server_events_limit;
  node_config.public_url = config.public_url;
  node_config.file_link_ttl_s = static_cast<std::int64_t>(config.file_link_ttl_s);
  node_config.file_retention_s = static_cast<std::int64_t>(config.file_retention_s);
  auto live = rtm::app::open_live_state(config.broker, node_config);
  if (!live) return fail(live.error().msg);
  rtm::Node node(**store, **broker, live->state(), node_config);
  if (auto started = node.start(); !started) return fail(started.error().msg);

  // Webhooks: every server event a [[webhook]] wants goes to the outbox, then to it.
  std::vector<rtm::webhooks::WebhookConfig> hooks;
  for (const auto& w : config.webhooks)
    hooks.push_back({w.url, w.events, w.secret, std::chrono::seconds(w.timeout_s), w.max_attempts});
  rtm::webhooks::WebhookOptions hook_options;
  hook_options.retry_base_ms = static_cast<std::int64_t>(config.webhook_retry_base_ms);
  bool https_hooks = std::any_of(config.webhooks.begin(), config.webhooks.end(),
                                 [](const auto& w) { return w.url.rfind("https://", 0) == 0; });
  if (https_hooks || !config.webhook_ca.empty()) {
    // Made once, at start: a CA file that cannot be read is a start-up error, not a webhook's.
    std::string why;
    hook_options.tls = rtm::http::make_client_tls(config.webhook_ca, why);
    if (!hook_options.tls) return fail("webhooks: " + why);
  }
  rtm::webhooks::WebhookSender webhooks(**store, std::move(hooks), hook_options,
                                        [&node] { return node.now_ms(); });
  std::uint64_t dead_letters_before = 0;
  if (auto dead = (*store)->outbox_dead_count()) dead_letters_before = *dead;
  node.server_events().set_listener([&webhooks](const std::string& body) { webhooks.offer(body); });
  webhooks.start();

  unsigned threads = config.threads > 0 ? static_cast<unsigned>(config.threads)
                                        : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::io_context*> context_ptrs;
  for (unsigned i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    context_ptrs.push_back(contexts.back().get());
  }
  // Off the event loops, each bounded so that a flood is answered RateLimited instead of
  // queuing without end: argon2id on two threads (a login flood waits there), the calls
  // that wait on the store (sends' checks, history, uploads' records) on four.
  rtm::api::BlockingPool blocking(2, config.blocking_queue);
  rtm::api::BlockingPool store_calls(4, config.blocking_queue);
  rtm::api::CallMetrics metrics;
  auto blobs = rtm::files::BlobStore::open(config.data_dir + "/files", config.max_file_size);
  if (!blobs) return fail(blobs.error().msg);
  rtm::api::CallLog call_log{std::chrono::milliseconds(config.slow_call_ms)};
  rtm::api::Services services{node,         blocking,  metrics,     *api_key,
                              blobs->get(), &call_log, &store_calls};

  rtm::net::HttpLimits limits;
  limits.max_body = config.max_body;
  limits.request_timeout = std::chrono::seconds(config.request_timeout_s);
  limits.access_log = config.access_log;
  auto cors = rtm::net::CorsPolicy::parse(config.cors_origins);
  if (!cors) return fail(cors.error().msg);
  limits.cors = std::move(*cors);
  auto proxies = rtm::net::TrustedProxies::parse(config.trusted_proxies);
  if (!proxies) return fail(proxies.error().msg);
  limits.trusted_proxies = std::move(*proxies);
  std::unique_ptr<rtm::net::ServerTls> tls;
  if (!config.tls_cert.empty()) {
    auto loaded = rtm::net::ServerTls::load(config.tls_cert, config.tls_key);
    if (!loaded) return fail(loaded.error().msg);
    tls = std::move(*loaded);
    rtm::logging::info("tls.loaded", {{"cert", config.tls_cert}, {"certificate", tls->describe()}});
  }
  rtm::net::HttpServer server(
      context_ptrs, services, limits,
      [&] {
        auto hook = webhooks.stats();
        return rtm::api::render_metrics(node.stats(), metrics) +
               rtm::api::render_webhook_metrics(hook.delivered, hook.failed_attempts,
                                                dead_letters_before + hook.dead_letters);
      },
      tls.get());
  if (auto listening = server.listen(config.host, config.port); !listening)
    return fail(listening.error().msg);
  (*data_dir)->record_listen(config.host, server.port());

  auto& main_ctx = *contexts.front();
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& ctx : contexts) guards.push_back(asio::make_work_guard(*ctx));

  // Idle expiry and ended-session cleanup, once a second. The sweep runs on the store-call pool:
  // an expired session may leave a room, a SQLite write that must not stall an event loop.
  // The next one is armed when it is done, so sweeps never pile up. The counts of log lines
  // held back in the last second go out with it.
  asio::steady_timer sweep_timer(main_ctx);
  std::function<void()> schedule_sweep = [&] {
    if (node.shutting_down()) return;
    sweep_timer.expires_after(std::chrono::seconds(1));
    sweep_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      call_log.report_held_back();
      webhooks.report_held_back();
      store_calls.post([&] {
        node.sweep();
        asio::post(main_ctx, [&] { schedule_sweep(); });
      });
    });
  };
  schedule_sweep();

  // Checkpoints every 100 ms on the store-call pool: the server event stream and channel
  // changes each time, sessions' read positions once a second (id reservations at once);
  // a kill -9 loses at most the last ones, which only means events read again.
  asio::steady_timer checkpoint_timer(main_ctx);
  std::function<void()> schedule_checkpoint = [&] {
    if (node.shutting_down()) return;
    checkpoint_timer.expires_after(std::chrono::milliseconds(100));
    checkpoint_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      store_calls.post([&] {
        node.checkpoint();
        asio::post(main_ctx, [&] { schedule_checkpoint(); });
      });
    });
  };
  schedule_checkpoint();

  // File retention every ten minutes (the first pass a minute after start), on the store-call
  // pool like the sweep.
  asio::steady_timer retention_timer(main_ctx);
  std::function<void(std::chrono::seconds)> schedule_retention = [&](std::chrono::seconds in) {
    if (node.shutting_down()) return;
    retention_timer.expires_after(in);
    retention_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      store_calls.post([&] {
        auto report = rtm::files::apply_retention(node, **blobs, node_config.file_retention_s);
        if (!report)
          rtm::logging::error("file_retention.failed", {{"msg", report.error().msg}});
        else if (report->files_expired || report->blobs_removed)
          rtm::logging::info("file_retention.done", {{"files_expired", report->files_expired},
                                                     {"blobs_removed", report->blobs_removed},
                                                     {"bytes_freed", report->bytes_freed}});
        asio::post(main_ctx, [&] { schedule_retention(std::chrono::minutes(10)); });
      });
    });
  };
  schedule_retention(std::chrono::minutes(1));

  // Drain: stop accepting, answer waiting polls with what they have, give answers a moment
  // to be written, then stop the loops; the store is flushed after the loops end.
  asio::signal_set signals(main_ctx, SIGINT, SIGTERM);
  asio::steady_timer drain_timer(main_ctx);
  // SIGHUP: the certificate is read again (an ACME client renewed it); open connections keep
  // theirs. Nothing else is reloaded.
  asio::signal_set hangups(main_ctx, SIGHUP);
  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (!tls) {
        rtm::logging::info("sighup.ignored", {{"reason", "no --tls-cert to reload"}});
      } else if (auto reloaded = tls->reload(); !reloaded) {
        rtm::logging::error("tls.reload_failed",
                            {{"error", reloaded.error().msg}, {"kept", tls->describe()}});
      } else {
        rtm::logging::info("tls.reloaded",
                           {{"cert", config.tls_cert}, {"certificate", tls->describe()}});
      }
      await_hangup();
    });
  };
  await_hangup();
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    rtm::logging::info("rtmd.draining", {{"signal", signo}});
    server.stop_accepting();
    hangups.cancel();
    sweep_timer.cancel();
    checkpoint_timer.cancel();
    retention_timer.cancel();
    node.shutdown();
    drain_timer.expires_after(std::chrono::milliseconds(500));
    drain_timer.async_wait([&](const boost::system::error_code&) {
      for (auto& g : guards) g.reset();
      for (auto& ctx : contexts) ctx->stop();
    });
  });

  if (generated) rtm::logging::info("api_key.generated", {{"path", key_path}});
  rtm::app::log_startup(config, server.port(), threads, key_path);
  const char* scheme = tls ? "https" : "http";
  std::cout << "rtmd: listening on " << scheme << "://"
            << rtm::app::host_port(config.host, server.port()) << std::endl;
  if (!key_path.empty()) std::cout << "rtmd: API key file " << key_path << std::endl;

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&, i] { contexts[i]->run(); });
  main_ctx.run();
  for (auto& w : workers) w.join();
  // Queued logins and calls are not run after the loops stopped: the drain stays bounded.
  blocking.stop();
  store_calls.stop();
  blocking.join();
  store_calls.join();
  webhooks.stop();  // what was offered goes to the outbox: the next rtmd sends it
  // Where every session's reader stands, for the next rtmd. Messages still being appended
  // are fanned out by close() after it; they lie after these positions and are replayed.
  node.checkpoint(/*final=*/true);
  (*store)->close();
  (*broker)->close();
  call_log.report_held_back();
  webhooks.report_held_back();
  rtm::logging::info("rtmd.stopped");
  return 0;
}
