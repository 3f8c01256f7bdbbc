// file.token and file.url, for clients (the session's user) and the server API (API.md
// section 5). The upload and download themselves are HTTP transfers in net/file_transfer.
#include <limits>

#include "api/method_table.hpp"
#include "core/quote_input.hpp"
#include "files/file_retention.hpp"

namespace rtm::api {

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

// Blocking: the access rule of the token's send reads membership and users.
template <Scope scope>
Result<Reply> file_token(Call& c) {
  SendRequest r;
  if constexpr (scope == Scope::Client) {
    RTM_TRY(r.from, c.node().sessions().authorized_uid(c.params.string("session")));
  } else {
    r.as_server = true;
    r.from = static_cast<Uid>(c.params.optional_integer("from", 0, kMaxId).value_or(0));
  }
  std::string cmd = c.params.string("cmd");
  if (cmd == "sendfile") {
    r.kind = MessageKind::P2p;
    r.to = c.params.id("to");
  } else if (cmd == "sendfiles") {
    r.kind = MessageKind::Multi;
    r.to_uids = c.params.id_list("to_uids", 1000);
  } else if (cmd == "sendgroupfile") {
    r.kind = MessageKind::Group;
    r.gid = c.params.id("gid");
  } else if (cmd == "sendroomfile") {
    r.kind = MessageKind::Room;
    r.rid = c.params.id("rid");
  } else if (cmd == "broadcastfile") {
    r.kind = MessageKind::Broadcast;
  } else {
    return make_error(Rc::InvalidParameter,
                      "cmd must be sendfile, sendfiles, sendgroupfile, sendroomfile or "
                      "broadcastfile, got '" +
                          quote_input(cmd) + "'");
  }
  Node& node = c.node();
  Reply reply;
  RTM_TRY(reply.fields["token"], node.files().token(std::move(r)));
  reply.fields["endpoint"] = node.files().upload_endpoint();
  return reply;
}

// Blocking: the file's record is read from the store (and membership, for a client).
template <Scope scope>
Result<Reply> file_url(Call& c) {
  std::optional<Uid> viewer;
  if constexpr (scope == Scope::Client) {
    RTM_TRY(viewer, c.node().sessions().authorized_uid(c.params.string("session")));
  }
  std::string id = c.params.string("id");
  Reply reply;
  RTM_TRY(reply.fields["url"], c.node().files().url(viewer, id));
  return reply;
}

// files.gc (server, Blocking): retention now (the same pass rtmd runs every few minutes).
Result<Reply> files_gc(Call& c) {
  if (!c.services.blobs) return make_error(Rc::Unavailable, "files are not enabled");
  auto grace = c.params.integer("grace", 3600, 0, 31'536'000);
  Node& node = c.node();
  RTM_TRY(auto r,
          files::apply_retention(node, *c.services.blobs, node.config().file_retention_s, grace));
  Reply reply;
  reply.fields["files_expired"] = r.files_expired;
  reply.fields["blobs_removed"] = r.blobs_removed;
  reply.fields["bytes_freed"] = r.bytes_freed;
  return reply;
}

// files.list (server, Blocking): stored files, newest first.
Result<Reply> files_list(Call& c) {
  auto limit = c.params.integer("limit", 100, 1, 1000);
  auto before = c.params.integer("before", std::numeric_limits<std::int64_t>::max(), 1,
                                 std::numeric_limits<std::int64_t>::max());
  RTM_TRY(auto files, c.node().files().list(before, static_cast<std::size_t>(limit)));
  boost::json::array a;
  for (const auto& f : files)
    a.push_back({{"id", f.id},
                 {"name", f.name},
                 {"size", f.size},
                 {"sha256", f.sha256},
                 {"type", f.type},
                 {"from", f.from},
                 {"kind", std::string(kind_name(f.kind))},
                 {"created", f.created_ms}});
  Reply reply;
  reply.fields["files"] = std::move(a);
  return reply;
}

}  // namespace

void add_file_methods(std::vector<MethodSpec>& t) {
  t.push_back(MethodSpec::blocking("files.gc", Scope::Server, files_gc));
  t.push_back(MethodSpec::blocking("files.list", Scope::Server, files_list));
  t.push_back(MethodSpec::blocking("file.token", Scope::Client, file_token<Scope::Client>));
  t.push_back(MethodSpec::blocking("file.token", Scope::Server, file_token<Scope::Server>));
  t.push_back(MethodSpec::blocking("file.url", Scope::Client, file_url<Scope::Client>));
  t.push_back(MethodSpec::blocking("file.url", Scope::Server, file_url<Scope::Server>));
}

}  // namespace rtm::api
