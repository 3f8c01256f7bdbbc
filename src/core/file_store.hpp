// FileStore: the records of uploaded files (core/file_record.hpp): which blob was sent by whom
// to whom. The bytes are not here: files/blob_store.hpp keeps them on disk by SHA-256, and
// file retention asks this store which blobs are still referred to. Records are written only
// by MessageStore::append_file_message(), together with the message that announces them.
// Upload grants are here too: what an upload token allows until the upload comes (text the
// file service writes and reads; the store does not look inside).
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - A record reads back as it was appended, every field.
//  - Times are exclusive bounds: list_files() and delete_files_before() take the records
//    created before `before_ms`, never at it.
//  - put_upload_grant() is durable when it returns; take_upload_grant() answers a grant at
//    most once, even to two callers at the same moment (on any node).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/file_record.hpp"
#include "core/result.hpp"

namespace rtm {

struct StoredUploadGrant {
  std::string grant;
  std::int64_t expires_ms = 0;
};

class FileStore {
 public:
  virtual ~FileStore() = default;

  virtual Result<FileRecord> find_file(const std::string& id) = 0;  // NotFound
  // Newest first, at most `limit`, created before `before_ms` (exclusive).
  virtual Result<std::vector<FileRecord>> list_files(std::int64_t before_ms, std::size_t limit) = 0;
  // Forgets the files created before `before_ms`; answers how many.
  virtual Result<std::size_t> delete_files_before(std::int64_t before_ms) = 0;

  // Keeps `grant` under the upload token until it is taken or expires_ms passes.
  virtual Status put_upload_grant(const std::string& token, const std::string& grant,
                                  std::int64_t expires_ms) = 0;
  // Removes the token's grant and answers it, expired or not; nullopt when there is none
  // (never made, already taken, or forgotten as expired).
  virtual Result<std::optional<StoredUploadGrant>> take_upload_grant(const std::string& token) = 0;
  // Forgets the grants that expired at or before now_ms; answers how many.
  virtual Result<std::size_t> delete_expired_upload_grants(std::int64_t now_ms) = 0;
  // The SHA-256 of every blob a file still refers to.
  virtual Result<std::vector<std::string>> blobs_in_use() = 0;
};

}  // namespace rtm
