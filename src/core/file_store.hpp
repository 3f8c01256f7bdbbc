// FileStore: the records of uploaded files (core/file_record.hpp): which blob was sent by whom
// to whom. The bytes are not here: files/blob_store.hpp keeps them on disk by SHA-256, and
// file retention asks this store which blobs are still referred to. Records are written only
// by MessageStore::append_file_message(), together with the message that announces them.
//
// Guarantees (besides those of every Store method, core/store.hpp):
//  - A record reads back as it was appended, every field.
//  - Times are exclusive bounds: list_files() and delete_files_before() take the records
//    created before `before_ms`, never at it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/file_record.hpp"
#include "core/result.hpp"

namespace rtm {

class FileStore {
 public:
  virtual ~FileStore() = default;

  virtual Result<FileRecord> find_file(const std::string& id) = 0;  // NotFound
  // Newest first, at most `limit`, created before `before_ms` (exclusive).
  virtual Result<std::vector<FileRecord>> list_files(std::int64_t before_ms, std::size_t limit) = 0;
  // Forgets the files created before `before_ms`; answers how many.
  virtual Result<std::size_t> delete_files_before(std::int64_t before_ms) = 0;
  // The SHA-256 of every blob a file still refers to.
  virtual Result<std::vector<std::string>> blobs_in_use() = 0;
};

}  // namespace rtm
