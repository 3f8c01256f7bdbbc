// BlobStore: the bytes of uploaded files on disk, content-addressed by SHA-256 under
// DATA_DIR/files/ (`ab/abcdef...`), so the same bytes are stored once. An upload is written
// to a temporary file in DATA_DIR/files/tmp/ while it streams, hashed as it goes, bounded in
// size; commit() fsyncs it and renames it into place (then fsyncs the directory), so a blob
// that exists is whole. An upload that is not committed (too big, cut off, refused) removes
// its temporary file: nothing half-written is ever left under a blob's name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rtm::files {

struct BlobInfo {
  std::string sha256;  // lowercase hex
  std::uint64_t size = 0;
};

class BlobStore;

// One upload in progress. Not thread-safe; used by the connection that receives it.
class Upload {
 public:
  ~Upload();  // removes the temporary file unless committed
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;

  // PayloadTooLarge past the store's size limit (the caller stops reading and answers 413).
  Status append(const char* data, std::size_t size);
  std::uint64_t size() const { return size_; }
  // Blocking (fsync): makes the bytes the blob named by their SHA-256.
  Result<BlobInfo> commit();

 private:
  friend class BlobStore;
  Upload(const BlobStore& store, int fd, std::string temp_path);
  const BlobStore& store_;
  int fd_;
  std::string temp_path_;
  std::uint64_t size_ = 0;
  bool committed_ = false;
  struct Hash;
  std::unique_ptr<Hash> hash_;
};

class BlobStore {
 public:
  // Creates dir and dir/tmp if needed, and removes temporary files left by a crash.
  static Result<std::unique_ptr<BlobStore>> open(std::string dir, std::uint64_t max_size);

  Result<std::unique_ptr<Upload>> begin() const;
  // The path of the blob `sha256` (checked to be 64 hex digits), for reading.
  Result<std::string> path_of(std::string_view sha256) const;
  std::uint64_t max_size() const { return max_size_; }
  const std::string& dir() const { return dir_; }

  struct Collected {
    std::size_t blobs = 0;
    std::uint64_t bytes = 0;
  };
  // Removes every blob not in `keep` whose last write is older than `grace_s`: an upload
  // commits its blob just before its file is recorded, and a blob found already stored is
  // touched, so a blob younger than the grace may be about to be referenced.
  Collected collect(const std::vector<std::string>& keep, std::int64_t grace_s) const;

 private:
  BlobStore(std::string dir, std::uint64_t max_size) : dir_(std::move(dir)), max_size_(max_size) {}
  friend class Upload;
  std::string dir_;
  std::uint64_t max_size_;
};

}  // namespace rtm::files
