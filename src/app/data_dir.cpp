// The lock and the modes of rtmd's data dir (see data_dir.hpp).
#include "app/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "app/host_port.hpp"
#include "logging/log.hpp"

namespace rtm::app {

namespace fs = std::filesystem;

namespace {

Error os_error(const std::string& what, int err) {
  return make_error(Rc::Unavailable, what + ": " + std::strerror(err));
}

// The value of `key=` on its own line of the lock file's text, cut to something printable:
// the file is ours, but a person may have written into it.
std::string holder_field(const std::string& text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=') {
      std::string value;
      for (char c : line.substr(key.size() + 1))
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f && value.size() < 128)
          value.push_back(c);
      return value;
    }
    pos = end + 1;
  }
  return {};
}

// "pid 1234, listening on 127.0.0.1:8080" from the holder's lock file.
std::string describe_holder(int fd) {
  char buf[1024];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  std::string pid = holder_field(text, "pid");
  std::string listen = holder_field(text, "listen");
  // A holder that has only just taken the lock may not have written its pid yet.
  std::string out = pid.empty() ? "pid not yet recorded" : "pid " + pid;
  if (!listen.empty()) out += ", listening on " + listen;
  return out;
}

}  // namespace

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::acquire(const std::string& dir) {
  std::error_code ec;
  bool created = fs::create_directories(dir, ec);
  if (ec) return make_error(Rc::Unavailable, "cannot create data dir " + dir + ": " + ec.message());
  if (created) ::chmod(dir.c_str(), 0700);  // whatever the umask of the caller
  std::string path = (fs::path(dir) / kLockFileName).string();
  // O_NOFOLLOW: a symbolic link planted in place of the lock file is refused, not written.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return os_error("cannot open the lock file " + path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = err == EWOULDBLOCK ? describe_holder(fd) : std::string();
    ::close(fd);
    if (err == EWOULDBLOCK)
      return make_error(Rc::Unavailable,
                        "data dir " + dir + " is in use by another rtmd (" + holder + ")");
    return os_error("cannot lock " + path, err);
  }
  std::unique_ptr<DataDirLock> lock(new DataDirLock(fd, path));
  lock->write_holder("");
  return lock;
}

DataDirLock::~DataDirLock() { ::close(fd_); }

void DataDirLock::record_listen(const std::string& host, unsigned short port) {
  write_holder(host_port(host, port));
}

void DataDirLock::write_holder(const std::string& listen) {
  std::string text = "pid=" + std::to_string(::getpid()) + "\n";
  if (!listen.empty()) text += "listen=" + listen + "\n";
  // Written over the old text and then cut to length, so a reader never sees an empty file
  // between the two (only the old holder's text, or this one's). Information only: a
  // failure here changes nothing about the lock.
  if (::pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()))
    (void)::ftruncate(fd_, static_cast<off_t>(text.size()));
}

Tightened tighten_modes(const std::string& dir) {
  Tightened t;
  auto tighten = [&t](const std::string& path, mode_t mode) {
    mode_t perm = mode & 07777;
    if ((perm & 077) == 0) return;
    if (::chmod(path.c_str(), perm & ~mode_t{077}) != 0) {
      ++t.failed;
      return;
    }
    if (t.count++ == 0) {
      t.first_path = path;
      t.first_old_mode = perm;
    }
  };
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return t;  // the directory itself may be a link
  tighten(dir, st.st_mode);
  auto own = [](const std::string& name) {
    for (const char* e : kOwnEntries)
      if (name == e) return true;
    return false;
  };
  std::error_code ec;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::string path = it->path().string();
    if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
    if (!own(it->path().filename().string())) {
      if ((st.st_mode & 077) != 0 && t.foreign_loose++ == 0) {
        t.foreign_path = path;
        t.foreign_mode = st.st_mode & 07777;
      }
      continue;
    }
    tighten(path, st.st_mode);
    if (!S_ISDIR(st.st_mode)) continue;  // files/: all of it is rtmd's
    std::error_code walk_ec;
    for (fs::recursive_directory_iterator
             sub(path, fs::directory_options::skip_permission_denied, walk_ec),
         sub_end;
         !walk_ec && sub != sub_end; sub.increment(walk_ec)) {
      std::string p = sub->path().string();
      if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
      tighten(p, st.st_mode);
    }
  }
  return t;
}

Result<std::unique_ptr<DataDirLock>> open_data_dir(const std::string& dir) {
  ::umask(077);
  auto lock = DataDirLock::acquire(dir);
  if (!lock) return lock.error();
  Tightened t = tighten_modes(dir);
  if (t.count > 0)
    logging::warn(
        "data_dir.tightened",
        {{"path", t.first_path}, {"old_mode", octal_mode(t.first_old_mode)}, {"paths", t.count}});
  if (t.foreign_loose > 0)
    logging::warn("data_dir.foreign_loose", {{"path", t.foreign_path},
                                             {"mode", octal_mode(t.foreign_mode)},
                                             {"paths", t.foreign_loose},
                                             {"why", "not rtmd's: left as it is"}});
  if (t.failed > 0)
    logging::warn(
        "data_dir.mode_unchanged",
        {{"path", dir}, {"paths", t.failed}, {"why", "chmod failed (owned by another user?)"}});
  return lock;
}

}  // namespace rtm::app
