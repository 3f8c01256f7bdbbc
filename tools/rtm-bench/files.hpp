// rtm-bench files: C clients each upload files of one size in a loop (server file.token, then
// POST /v1/files/upload), for a duration. Reports uploads/s, MB/s, the upload round trip and
// rtmd's peak RSS (VmHWM), which must not grow with the file size: uploads stream to disk.
#pragma once

#include <cstdint>

#include "bench_common.hpp"

namespace rtm::bench {

struct FilesOptions : CommonOptions {
  int clients = 16;
  std::uint64_t file_size = 1 << 20;  // bytes per upload
  double duration = 10;               // seconds of uploading
  long rtmd_pid = 0;                  // 0: the process listening on --url's port
};

int run_files(const FilesOptions& o);

}  // namespace rtm::bench
