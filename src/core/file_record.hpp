// FileRecord: what rtm knows of one uploaded file (API.md section 5): its id, the blob it
// points to (content-addressed by SHA-256, so the same bytes are stored once), the name and
// type the uploader gave (metadata only, never a path), and who it was sent to, which decides
// who may ask for a fresh download link (file.url).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/message.hpp"

namespace rtm {

struct FileRecord {
  std::string id;      // random, URL-safe
  std::string sha256;  // lowercase hex of the bytes: the blob's name
  std::string name;    // as given by the uploader, cleaned (docs/semantics.md "Files")
  std::string type;    // Content-Type of the upload
  std::uint64_t size = 0;
  Uid from = 0;
  MessageKind kind = MessageKind::P2p;
  Uid to = 0;
  std::vector<Uid> to_uids;
  Gid gid = 0;
  Rid rid = 0;
  std::int64_t created_ms = 0;
};

}  // namespace rtm
