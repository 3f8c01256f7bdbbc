// rtm-bench: load generator for the rtm server. main() parses the command line (CLI11) and
// dispatches to one scenario; each scenario lives in its own file (p2p.cpp, polls.cpp, fanout.cpp,
// files.cpp, soak.cpp).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "fanout.hpp"
#include "files.hpp"
#include "p2p.hpp"
#include "polls.hpp"
#include "soak.hpp"

using namespace rtm::bench;

namespace {

// Options every scenario takes.
void add_common(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--url", o.url, "server base URL")->envname("RTM_URL")->capture_default_str();
  cmd->add_option("--api-key", o.api_key, "server API key")->envname("RTM_API_KEY");
  cmd->add_option("--data-dir", o.data_dir, "server data dir: read the API key from DIR/api-key")
      ->envname("RTM_DATA_DIR");
  cmd->add_option("--threads", o.threads, "client threads (one io_context each)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--json", o.json, "print the summary as one JSON object on stdout");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rtm-bench: load generator for the rtm server", "rtm-bench"};
  app.require_subcommand(1);

  P2POptions p2p;
  CLI::App* p2p_cmd = app.add_subcommand(
      "p2p", "senders send p2p messages to receivers that long-poll; throughput and latency");
  add_common(p2p_cmd, p2p);
  p2p_cmd->add_option("--senders", p2p.senders, "sending users, one connection each")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  p2p_cmd->add_option("--receivers", p2p.receivers, "receiving users, one long poll each")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  p2p_cmd->add_option("--duration", p2p.duration, "seconds of sending")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  p2p_cmd->add_option("--rate", p2p.rate, "total sends/s (0: as fast as answered)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  p2p_cmd->add_option("--msg-size", p2p.msg_size, "bytes of msg per message")
      ->check(CLI::Range(0, 65536))
      ->capture_default_str();
  p2p_cmd->add_option("--uid-base", p2p.uid_base,
                      "reuse users uid-base.. (created on first use) instead of fresh ones");

  PollsOptions polls;
  CLI::App* polls_cmd = app.add_subcommand(
      "polls", "N sessions each keep one session.get_events waiting; rtmd memory per poll");
  add_common(polls_cmd, polls);
  polls_cmd->add_option("--polls,-n", polls.polls, "sessions, one waiting poll and connection each")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  polls_cmd
      ->add_option("--users", polls.users,
                   "users the sessions belong to, round robin (default: one per session; "
                   "each new user costs the server an argon2id hash)")
      ->check(CLI::Range(0, 1000000));
  polls_cmd->add_option("--timeout", polls.timeout, "get_events timeout, s")
      ->check(CLI::Range(1, 60))
      ->capture_default_str();
  polls_cmd->add_option("--sample", polls.sample, "users sent one message at the end")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  polls_cmd->add_option("--connect-parallel", polls.connect_parallel, "sessions opened at once")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  polls_cmd->add_option("--uid-base", polls.uid_base,
                        "reuse users uid-base.. (created on first use) instead of fresh ones");
  polls_cmd->add_option("--rtmd-pid", polls.rtmd_pid,
                        "rtmd's pid, for its RSS (default: the local process listening on the "
                        "--url port)");

  FanoutOptions fanout;
  CLI::App* fanout_cmd = app.add_subcommand(
      "fanout", "N WebSocket subscribers of one group, a publisher at a rate; rtmd CPU and RSS");
  add_common(fanout_cmd, fanout);
  fanout_cmd->add_option("--subscribers,-n", fanout.subscribers, "WebSocket subscribers")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  fanout_cmd
      ->add_option("--users", fanout.users,
                   "users the sessions belong to (default: one per 50 sessions; rtmd allows 64 "
                   "sessions per user)")
      ->check(CLI::Range(0, 1000000));
  fanout_cmd->add_option("--rate", fanout.rate, "publishes/s in all (0: as fast as answered)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  fanout_cmd->add_option("--publishers", fanout.publishers, "publishing connections")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  fanout_cmd->add_option("--duration", fanout.duration, "seconds of publishing")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  fanout_cmd->add_option("--msg-size", fanout.msg_size, "bytes of msg per publish")
      ->check(CLI::Range(0, 65536))
      ->capture_default_str();
  fanout_cmd
      ->add_option("--connect-parallel", fanout.connect_parallel, "subscribers connecting at once")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  fanout_cmd->add_option("--uid-base", fanout.uid_base, "users uid-base.. (created on first use)")
      ->capture_default_str();
  fanout_cmd->add_option("--rtmd-pid", fanout.rtmd_pid,
                         "rtmd's pid, for its CPU and RSS (default: the local process listening "
                         "on the --url port)");

  FilesOptions files;
  CLI::App* files_cmd = app.add_subcommand(
      "files", "C clients upload files of one size in a loop; MB/s and rtmd's peak RSS");
  add_common(files_cmd, files);
  files_cmd->add_option("--clients,-c", files.clients, "uploading clients")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  files_cmd->add_option("--file-size", files.file_size, "bytes per file")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();
  files_cmd->add_option("--duration", files.duration, "seconds of uploading")
      ->capture_default_str();
  files_cmd->add_option("--rtmd-pid", files.rtmd_pid,
                        "rtmd's pid, for its RSS (default: the local process listening on the "
                        "--url port)");

  SoakOptions soak;
  CLI::App* soak_cmd = app.add_subcommand(
      "soak",
      "mixed load (logins, p2p, fan-out, uploads, reconnects, channels) for --duration on its "
      "own rtmd; checks every delivery and whether rtmd's RSS and descriptors stay flat");
  add_common(soak_cmd, soak);
  soak_cmd->get_option("--url")->description(
      "soak the server running there instead of starting one (needs --api-key or --data-dir)");
  soak_cmd->add_option("--duration", soak.duration, "seconds of load (default 20 minutes)")
      ->check(CLI::Range(1.0, 7 * 86400.0))
      ->capture_default_str();
  soak_cmd->add_option("--sample-interval", soak.sample_interval, "seconds between samples of rtmd")
      ->check(CLI::Range(0.2, 600.0))
      ->capture_default_str();
  soak_cmd->add_option("--csv", soak.csv, "write the samples to FILE (plot_soak.py draws it)");
  soak_cmd->add_option("--rtmd", soak.rtmd, "rtmd to start (default: the one beside rtm-bench)");
  soak_cmd
      ->add_option("--rtmd-arg", soak.rtmd_args,
                   "one more flag for the rtmd it starts, as --rtmd-arg=--flag=value (repeat)")
      ->allow_extra_args(false);
  soak_cmd->add_flag("--keep-data", soak.keep_data, "keep the started rtmd's data dir and log");
  soak_cmd->add_option("--rtmd-pid", soak.rtmd_pid,
                       "with --url: rtmd's pid (default: the local process listening on the port)");
  soak_cmd->add_option("--scale", soak.plan.scale, "multiply every rate of the load")
      ->check(CLI::Range(0.01, 100.0))
      ->capture_default_str();
  std::vector<std::string> soak_rates;
  soak_cmd
      ->add_option(
          "--rate", soak_rates,
          std::string("NAME=PER_S: one rate of the load, before --scale (repeat); names: ") +
              SoakPlan::kRateNames)
      ->check([&soak](const std::string& v) -> std::string {
        const auto eq = v.find('=');
        char* end = nullptr;
        const double r = eq == std::string::npos ? -1 : std::strtod(v.c_str() + eq + 1, &end);
        if (eq == std::string::npos || !end || *end || r < 0)
          return "expected NAME=PER_S, got " + v;
        SoakPlan probe;
        if (!probe.set_rate(v.substr(0, eq), r)) return "unknown rate " + v.substr(0, eq);
        return "";
      });
  soak_cmd
      ->add_option("--ws-drop-every", soak.plan.ws_receiver_drop_every_s,
                   "mean seconds between drops of one p2p WebSocket (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  soak_cmd
      ->add_option("--subscriber-drop-every", soak.plan.subscriber_drop_every_s,
                   "mean seconds between drops of one group subscriber (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  soak_cmd
      ->add_option("--channel-token-every", soak.plan.channel_token_every_s,
                   "seconds between new tokens for each channel (channel.create again)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  soak_cmd
      ->add_option("--queue-limit", soak.plan.queue_limit,
                   "session.set queue_limit of every receiving session (events kept, read or not)")
      ->check(CLI::Range(10, 100000))
      ->capture_default_str();
  soak_cmd->add_option("--subscribers", soak.plan.subscribers, "WebSocket subscribers of the group")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  soak_cmd
      ->add_option("--max-rss-slope", soak.limits.max_rss_slope_kib_per_min,
                   "flat: RSS slope over the last 3/4 at most this, KiB/min")
      ->capture_default_str();
  soak_cmd
      ->add_option("--max-rss-growth", soak.limits.max_rss_growth_kib,
                   "flat: RSS end - middle at most this, KiB")
      ->capture_default_str();
  soak_cmd
      ->add_option("--max-fd-slope", soak.limits.max_fd_slope_per_min,
                   "flat: descriptor slope over the last 3/4 at most this, per min")
      ->capture_default_str();
  soak_cmd
      ->add_option("--max-fd-growth", soak.limits.max_fd_growth,
                   "flat: descriptors end - middle at most this")
      ->capture_default_str();
  soak_cmd->add_option("--max-errors", soak.max_errors, "stop early past this many errors")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (p2p_cmd->parsed()) return run_p2p(p2p);
  if (polls_cmd->parsed()) return run_polls(polls);
  if (fanout_cmd->parsed()) return run_fanout(fanout);
  if (files_cmd->parsed()) return run_files(files);
  if (soak_cmd->parsed()) {
    soak.use_url = soak_cmd->get_option("--url")->count() > 0;
    for (const auto& r : soak_rates) {
      const auto eq = r.find('=');
      soak.plan.set_rate(r.substr(0, eq), std::strtod(r.c_str() + eq + 1, nullptr));
    }
    return run_soak(soak);
  }
  return 2;
}
