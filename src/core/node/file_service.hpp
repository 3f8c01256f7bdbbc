// FileService: files (API.md section 5; docs/semantics.md "Files"). The bytes are the
// business of files/ (a blob store on disk) and net/ (streaming them); this service decides
// who may send a file where (an upload token carries a checked send), records the file with
// its message, and signs download links.
//
// Upload grants are kept by the store (10 minutes each), so a restart between a token and its
// upload keeps it. Thread-safe; every method but upload_endpoint() calls the store (blocking).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/file_record.hpp"
#include "core/node/access_policy.hpp"
#include "core/node/message_service.hpp"
#include "core/node/node_config.hpp"
#include "core/node/server_event_service.hpp"
#include "core/node/token_signer.hpp"
#include "core/result.hpp"
#include "core/store.hpp"

namespace rtm {

// What an upload token allows: one file sent as `request` (kind, targets, from, as_server;
// checked when the token was made), until expires_ms.
struct UploadGrant {
  SendRequest request;
  std::int64_t expires_ms = 0;
};

struct FileSendAck {
  Mid mid = 0;
  std::int64_t mtime = 0;
  std::string file_json;
};

class FileService {
 public:
  FileService(const NodeConfig& config, Store& store, AccessPolicy& access,
              MessageService& messages, ServerEventService& server_events,
              const TokenSigner& signer);

  // An upload token for one file sent the way `request` describes (kind, targets, from,
  // as_server), checked now as the send itself would be (a non-member cannot get a group
  // file token). Valid for one upload within upload_token_ttl_ms.
  Result<std::string> token(SendRequest request);
  std::string upload_endpoint() const { return config_.public_url + "/v1/files/upload"; }
  // Takes the grant of an upload token; a token works once. InvalidToken / TokenExpired.
  Result<UploadGrant> take_upload(const std::string& token);
  // Forgets expired grants (at most once a minute; Node::sweep calls it every second).
  void sweep(std::int64_t now);
  // After the bytes are stored: sends the file's message with msg = the file's JSON
  // description, the file's record in the same transaction. `done` gets the ack and that
  // JSON.
  using SendCallback = std::function<void(Result<FileSendAck>)>;
  void send(const UploadGrant& grant, FileRecord file, int mtype, std::string attrs,
            SendCallback done);
  // A fresh download link for a file the viewer sent or received (PermissionDenied
  // otherwise, NotFound for an unknown id). Blocking.
  Result<std::string> url(std::optional<Uid> viewer, const std::string& id);
  // A download request: the link's signature and expiry, then the file's record. Blocking.
  Result<FileRecord> for_download(const std::string& id, std::string_view exp,
                                  std::string_view sig);

  // Retention (blocking): forgets files older than max_age_s, so their links and file.url
  // answer NotFound; answers how many. The blobs they leave unused are the blob store's to
  // collect (files/file_retention.hpp).
  Result<std::size_t> expire(std::int64_t max_age_s);
  Result<std::vector<std::string>> blobs_in_use() { return store_.blobs_in_use(); }
  Result<std::vector<FileRecord>> list(std::int64_t before_ms, std::size_t limit) {
    return store_.list_files(before_ms, limit);
  }

 private:
  std::string signed_url(const std::string& id) const;
  std::string file_json(const FileRecord& f) const;

  const NodeConfig& config_;
  Store& store_;
  AccessPolicy& access_;
  MessageService& messages_;
  ServerEventService& server_events_;
  const TokenSigner& signer_;
  std::int64_t last_grant_sweep_ms_ = 0;  // only Node::sweep touches it (one at a time)
};

}  // namespace rtm
