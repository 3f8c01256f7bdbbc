// File retention (docs/semantics.md "Files"): files older than the retention age are
// forgotten (their links and file.url answer NotFound from then on), then the blobs no file
// refers to any more are removed. Run by rtmd every few minutes and on demand by the server
// method files.gc (`rtm files gc`). Blocking: run it on the blocking pool.
#pragma once

#include <cstdint>

#include "core/node/node.hpp"
#include "core/result.hpp"
#include "files/blob_store.hpp"

namespace rtm::files {

struct RetentionReport {
  std::size_t files_expired = 0;
  std::size_t blobs_removed = 0;
  std::uint64_t bytes_freed = 0;
};

// max_age_s 0: files are kept forever (only unreferenced blobs are collected).
Result<RetentionReport> apply_retention(Node& node, const BlobStore& blobs, std::int64_t max_age_s,
                                        std::int64_t grace_s = 3600);

}  // namespace rtm::files
