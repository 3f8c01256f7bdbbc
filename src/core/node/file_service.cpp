// FileService: upload tokens, the file's message and record, download links
// (file_service.hpp).
#include "core/node/file_service.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "core/key_value_lines.hpp"
#include "core/random.hpp"
#include "logging/log.hpp"

namespace rtm {

FileService::FileService(const NodeConfig& config, Store& store, AccessPolicy& access,
                         MessageService& messages, ServerEventService& server_events,
                         const TokenSigner& signer)
    : config_(config),
      store_(store),
      access_(access),
      messages_(messages),
      server_events_(server_events),
      signer_(signer) {}

namespace {

// An upload grant as the store keeps it: the send's kind and targets, one "key=value" line
// each (to_uids comma-separated). Only what token() sets is kept; msg, mtype and attrs come
// with the upload.
std::string encode_grant(const SendRequest& r) {
  std::string uids;
  for (Uid u : r.to_uids) {
    if (!uids.empty()) uids += ',';
    uids += std::to_string(u);
  }
  return "from=" + std::to_string(r.from) + "\nkind=" + std::string(kind_name(r.kind)) +
         "\nto=" + std::to_string(r.to) + "\nto_uids=" + uids + "\ngid=" + std::to_string(r.gid) +
         "\nrid=" + std::to_string(r.rid) + "\nserver=" + (r.as_server ? "1" : "0");
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::optional<SendRequest> decode_grant(std::string_view text) {
  SendRequest r;
  r.file_message = true;
  r.mtype = 40;
  int fields = read_key_value_lines(text, [&](std::string_view key, std::string_view value) {
    if (key == "from") return parse_u64(value, r.from);
    if (key == "kind") {
      auto kind = parse_kind_name(value);
      if (kind) r.kind = *kind;
      return kind.has_value();
    }
    if (key == "to") return parse_u64(value, r.to);
    if (key == "to_uids")
      return read_list_items(value, [&](std::string_view item) {
        Uid u = 0;
        r.to_uids.push_back(u);
        return parse_u64(item, r.to_uids.back());
      });
    if (key == "gid") return parse_u64(value, r.gid);
    if (key == "rid") return parse_u64(value, r.rid);
    if (key == "server") {
      r.as_server = value == "1";
      return value == "0" || value == "1";
    }
    return false;
  });
  if (fields != 7) return std::nullopt;
  return r;
}

}  // namespace

Result<std::string> FileService::token(SendRequest request) {
  request.file_message = true;
  request.mtype = 40;
  request.msg.clear();
  request.attrs.clear();
  request.mid.reset();
  // The upload this token allows is a send: it counts against the user's send rate now,
  // before any byte is uploaded.
  if (auto within = messages_.check_rate(request); !within) return within.error();
  if (auto valid = messages_.check(request); !valid) return valid.error();
  // The grant is stored: a restart between the token and its upload keeps it.
  std::string token = random_token(32);
  if (auto stored = store_.put_upload_grant(token, encode_grant(request),
                                            config_.now_ms() + config_.upload_token_ttl_ms);
      !stored)
    return stored.error();
  return token;
}

Result<UploadGrant> FileService::take_upload(const std::string& token) {
  auto taken = store_.take_upload_grant(token);
  if (!taken) return taken.error();
  if (!*taken) return make_error(Rc::InvalidToken, "no such upload token (each token works once)");
  if ((*taken)->expires_ms <= config_.now_ms())
    return make_error(Rc::TokenExpired, "the upload token has expired (10 minutes)");
  auto request = decode_grant((*taken)->grant);
  if (!request) return make_error(Rc::Internal, "a stored upload grant cannot be read");
  return UploadGrant{std::move(*request), (*taken)->expires_ms};
}

void FileService::sweep(std::int64_t now) {
  // Grants are taken by their upload; those never used go here, once a minute at most.
  if (now - last_grant_sweep_ms_ < 60'000) return;
  last_grant_sweep_ms_ = now;
  (void)store_.delete_expired_upload_grants(now);  // a failure is logged by the store
}

std::string FileService::signed_url(const std::string& id) const {
  std::int64_t exp = config_.now_ms() / 1000 + config_.file_link_ttl_s;
  return config_.public_url + "/v1/files/" + id + "?exp=" + std::to_string(exp) +
         "&sig=" + signer_.file_link_signature(id, exp);
}

std::string FileService::file_json(const FileRecord& f) const {
  boost::json::object o{{"id", f.id},         {"name", f.name}, {"size", f.size},
                        {"sha256", f.sha256}, {"type", f.type}, {"url", signed_url(f.id)}};
  return boost::json::serialize(o);
}

void FileService::send(const UploadGrant& grant, FileRecord file, int mtype, std::string attrs,
                       SendCallback done) {
  SendRequest r = grant.request;
  file.from = r.from;
  file.kind = r.kind;
  file.to = r.to;
  file.to_uids = r.to_uids;
  file.gid = r.gid;
  file.rid = r.rid;
  file.created_ms = config_.now_ms();
  r.mtype = mtype;
  r.attrs = std::move(attrs);
  r.file_message = true;
  r.msg = file_json(file);
  // Checked again: a member may have left the group, or been banned, since the token.
  if (auto valid = messages_.check(r); !valid) return done(valid.error());
  std::string json = r.msg;
  Uid from = file.from;
  // The record goes with the message, in one transaction: recipients of the message can
  // ask for the file, and an upload that fails (a full disk) leaves no record behind.
  messages_.store_and_deliver(
      std::move(r), std::move(file),
      [this, done = std::move(done), json = std::move(json), from](Result<SendAck> ack) {
        if (!ack) return done(ack.error());
        // Stored and delivered: the uploader is answered even if the server event cannot be
        // made (out of memory), as MessageService::send answers whatever happens to delivery.
        try {
          server_events_.record_file_uploaded(json, ack->mid, from, ack->mtime);
        } catch (const std::exception& e) {
          logging::error("file.event_failed", {{"mid", ack->mid}, {"error", e.what()}});
        }
        done(FileSendAck{ack->mid, ack->mtime, json});
      });
}

Result<std::string> FileService::url(std::optional<Uid> viewer, const std::string& id) {
  auto file = store_.find_file(id);
  if (!file) return file.error();
  if (viewer && *viewer != file->from) {
    bool allowed = false;
    switch (file->kind) {
      case MessageKind::P2p: allowed = file->to == *viewer; break;
      case MessageKind::Multi:
        allowed =
            std::find(file->to_uids.begin(), file->to_uids.end(), *viewer) != file->to_uids.end();
        break;
      case MessageKind::Group:
      case MessageKind::Room: {
        Place place =
            file->kind == MessageKind::Group ? Place::group(file->gid) : Place::room(file->rid);
        auto readable = access_.check(Act::Read, place, *viewer);
        // A store that cannot answer is its error; a refusal is this call's own below.
        if (!readable && readable.error().rc != Rc::PermissionDenied) return readable.error();
        allowed = readable.ok();
        break;
      }
      case MessageKind::Broadcast: allowed = true; break;
      case MessageKind::Channel: break;
    }
    if (!allowed) return make_error(Rc::PermissionDenied, "not a recipient of this file");
  }
  return signed_url(file->id);
}

Result<std::size_t> FileService::expire(std::int64_t max_age_s) {
  return store_.delete_files_before(config_.now_ms() - max_age_s * 1000);
}

Result<FileRecord> FileService::for_download(const std::string& id, std::string_view exp,
                                             std::string_view sig) {
  if (auto ok = signer_.check_file_link(id, exp, sig, config_.now_ms() / 1000); !ok)
    return ok.error();
  return store_.find_file(id);
}

}  // namespace rtm
