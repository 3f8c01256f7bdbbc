// The data directory of one rtmd (docs/semantics.md "Data directory"): made private to the
// server's user, and held by one rtmd at a time.
//
// - Lock: DATA_DIR/rtmd.lock is held with flock(LOCK_EX) for the life of the process, taken
//   before the store, the blobs or the API key are touched, so a second rtmd on the same
//   directory stops at once instead of sharing the store (two rtmd on one file hand out the
//   same message ids). The file names the holder (its pid, then its listen address) for the
//   second one's error; only the flock counts, so a file left by a killed rtmd (kill -9) does
//   not block the next start: the kernel released the lock with the process.
// - Modes: the directory is created 0700 and the process umask set to 077, so everything rtmd
//   creates (database, WAL, SHM, blobs, temporary files, api-key, the lock file) is 0600 or
//   0700; what an earlier run or a person left looser is tightened at start, with one log line.
//   Only the directory and rtmd's own entries are changed: `--data-dir .` or `~` must not
//   strip the modes of a person's other files; those are named in a warning and left alone.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace rtm::app {

// The file holding the lock, inside the data dir.
inline constexpr const char* kLockFileName = "rtmd.lock";

class DataDirLock {
 public:
  // Creates `dir` (0700) if needed and takes its lock without waiting. Unavailable when
  // another process holds it: "data dir DIR is in use by another rtmd (pid N, listening on
  // ADDR)"; or when the directory or the lock file cannot be made.
  static Result<std::unique_ptr<DataDirLock>> acquire(const std::string& dir);
  ~DataDirLock();  // releases the lock (the file stays: it is only information)
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  // Records the address this rtmd listens on in the lock file, beside its pid.
  void record_listen(const std::string& host, unsigned short port);
  const std::string& path() const { return path_; }

 private:
  DataDirLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void write_holder(const std::string& listen);

  int fd_;
  std::string path_;
};

// The entries of a data dir that are rtmd's (kOwnEntries; `files/` with everything under
// it): tighten_modes() changes these and nothing else.
inline constexpr const char* kOwnEntries[] = {
    "rtm.db", "rtm.db-wal", "rtm.db-shm", "rtm.db-journal", "api-key", kLockFileName, "files"};

// What tighten_modes() changed: the first path it found looser than 0700/0600 and its mode
// then, and how many paths it changed in all; and what it found loose and left alone.
struct Tightened {
  std::size_t count = 0;
  std::string first_path;
  mode_t first_old_mode = 0;
  std::size_t failed = 0;  // paths whose mode could not be changed (another owner)
  // Entries directly in the directory that are not rtmd's and give group or other any
  // permission: how many, and the first found with its mode.
  std::size_t foreign_loose = 0;
  std::string foreign_path;
  mode_t foreign_mode = 0;
};

// Takes group and other permissions away from `dir` itself and from rtmd's own entries in it
// (kOwnEntries; `files/` recursively). Symbolic links are neither followed nor changed.
// Directories keep their owner bits (0755 -> 0700), files too (0644 -> 0600). Any other entry
// directly in `dir` is left as it is and, when it is looser, counted in foreign_loose (what
// is inside a foreign directory is not looked at: rtmd does not walk a person's tree).
Tightened tighten_modes(const std::string& dir);

// Everything rtmd does with its data dir before it opens anything in it: umask 077, the
// lock, then tighten_modes() with one warn line `data_dir.tightened` (path, old_mode, paths)
// when it changed something, and one `data_dir.foreign_loose` (path, mode, paths) when it
// left others alone.
Result<std::unique_ptr<DataDirLock>> open_data_dir(const std::string& dir);

// "0755": a mode's permission bits as ls and chmod write them.
std::string octal_mode(mode_t mode);

}  // namespace rtm::app
