// See file_retention.hpp.
#include "files/file_retention.hpp"

namespace rtm::files {

Result<RetentionReport> apply_retention(Node& node, const BlobStore& blobs, std::int64_t max_age_s,
                                        std::int64_t grace_s) {
  RetentionReport report;
  if (max_age_s > 0) {
    auto expired = node.files().expire(max_age_s);
    if (!expired) return expired.error();
    report.files_expired = *expired;
  }
  // Read after the expiry: a file recorded meanwhile is younger than the grace anyway.
  auto in_use = node.files().blobs_in_use();
  if (!in_use) return in_use.error();
  auto collected = blobs.collect(*in_use, grace_s);
  report.blobs_removed = collected.blobs;
  report.bytes_freed = collected.bytes;
  return report;
}

}  // namespace rtm::files
