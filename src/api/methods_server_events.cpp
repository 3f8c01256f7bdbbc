// Server events.poll (API.md section 8): the server event stream by long poll, read like
// session.get_events (cursor without `after`, re-delivery with it); and server/listen, which
// chooses what the stream copies.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <chrono>
#include <set>

#include "api/method_table.hpp"
#include "core/quote_input.hpp"

namespace rtm::api {

namespace {

Reply events_reply(const EventBatch& batch) {
  Reply r;
  r.fields["last"] = batch.last;
  r.raw_fields.emplace_back("events", batch.to_json_array());
  return r;
}

// Long poll (Exec::Poll). Several backend workers may poll at once and every event wakes
// them all; a poll that woke to find the events already taken by another goes back to
// waiting until its timeout, so it never answers [] early.
Result<PollStart> events_poll(Call& c, const Waiter& waiter) {
  auto after = c.params.optional_u64("after");
  auto timeout = c.params.integer("timeout", 30, 0, 60);
  Node& node = c.node();
  if (timeout == 0) return PollStart(events_reply(node.server_events().take(after)));

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  auto ticket = std::make_shared<std::uint64_t>(0);
  auto ready = node.server_events().take_or_wait(after, waiter, *ticket);
  if (ready) return PollStart(events_reply(*ready));
  return PollStart(
      Park{deadline,
           [&node, after, ticket](bool due, const Waiter& again) -> Result<std::optional<Reply>> {
             node.server_events().cancel_wait(*ticket);
             auto batch = node.server_events().take(after);
             if (!batch.events.empty() || node.shutting_down() || due)
               return std::optional<Reply>(events_reply(batch));
             auto ready = node.server_events().take_or_wait(after, again, *ticket);
             if (ready) return std::optional<Reply>(events_reply(*ready));
             return std::optional<Reply>();
           }});
}

// `true` (every one), `false` (none) or a list of ids: one part of a listen selection.
void read_ids_or_all(const Params& p, const char* key, bool& all, std::set<std::uint64_t>& ids) {
  const boost::json::value* v = p.find(key);
  if (!v) return;  // not given: that part stays as it was
  if (v->is_bool()) {
    all = v->get_bool();
    ids.clear();
    return;
  }
  auto list = p.id_list(key, 10'000);
  all = false;
  ids = std::set<std::uint64_t>(list.begin(), list.end());
}

boost::json::value ids_or_all_json(bool all, const std::set<std::uint64_t>& ids) {
  if (all) return true;
  if (ids.empty()) return false;
  boost::json::array a;
  for (auto id : ids) a.push_back(id);
  return a;
}

// server/listen (Blocking: a changed selection is stored before it takes effect): which
// messages and events the server event stream copies. Each part given replaces that part;
// the answer is the whole selection.
Result<Reply> listen(Call& c) {
  Node& node = c.node();
  ListenSelection sel = node.server_events().listen_selection();
  read_ids_or_all(c.params, "p2p", sel.all_p2p, sel.uids);
  read_ids_or_all(c.params, "groups", sel.all_groups, sel.gids);
  read_ids_or_all(c.params, "rooms", sel.all_rooms, sel.rids);
  if (const boost::json::value* v = c.params.find("events")) {
    if (!v->is_array())
      return make_error(Rc::InvalidRequest, "events must be a list of event types");
    sel.events.clear();
    for (const auto& e : v->get_array()) {
      if (!e.is_string())
        return make_error(Rc::InvalidRequest, "events must be a list of event types");
      std::string_view type = e.get_string();
      if (std::find(std::begin(kListenableEvents), std::end(kListenableEvents), type) ==
          std::end(kListenableEvents))
        return make_error(Rc::InvalidParameter, "unknown event type '" + quote_input(type) +
                                                    "': user.online, user.offline, "
                                                    "channel.connected, channel.disconnected "
                                                    "or file.uploaded");
      sel.events.emplace(type);
    }
  }
  RTM_TRY(sel, node.server_events().set_listen(std::move(sel)));
  Reply r;
  r.fields["p2p"] = ids_or_all_json(sel.all_p2p, sel.uids);
  r.fields["groups"] = ids_or_all_json(sel.all_groups, sel.gids);
  r.fields["rooms"] = ids_or_all_json(sel.all_rooms, sel.rids);
  boost::json::array events;
  for (const auto& e : sel.events) events.emplace_back(e);
  r.fields["events"] = std::move(events);
  return r;
}

// webhooks.failed (Blocking: the outbox is in the store): the dead letters, newest first.
Result<Reply> webhooks_failed(Call& c) {
  auto limit = c.params.integer("limit", 100, 1, 1000);
  RTM_TRY(auto dead, c.node().server_events().dead_letters(static_cast<std::size_t>(limit)));
  boost::json::array a;
  for (const auto& e : dead) {
    boost::system::error_code ec;
    boost::json::value event = boost::json::parse("{" + e.body, ec);
    a.push_back({{"id", e.id},
                 {"url", e.url},
                 {"attempts", e.attempts},
                 {"error", e.last_error},
                 {"created", e.created_ms},
                 {"event", ec ? boost::json::value(e.body) : event}});
  }
  Reply r;
  r.fields["failed"] = std::move(a);
  return r;
}

}  // namespace

void add_server_event_methods(std::vector<MethodSpec>& t) {
  using M = MethodSpec;
  t.push_back(M::blocking("webhooks.failed", Scope::Server, webhooks_failed));
  t.push_back(M::long_poll("events.poll", Scope::Server, events_poll));
  t.push_back(M::blocking("listen", Scope::Server, listen));
}

}  // namespace rtm::api
