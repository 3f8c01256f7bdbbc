// See blob_store.hpp.
#include "files/blob_store.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "core/random.hpp"
#include "logging/log.hpp"

namespace rtm::files {

namespace fs = std::filesystem;

namespace {

// The operator's line names the path and the call; the caller's error only says what went
// wrong, since it reaches the client and the data dir's layout is not the client's business.
Error io_error(const std::string& what) {
  int err = errno;
  logging::error("files.error", {{"op", what}, {"error", std::strerror(err)}});
  if (err == ENOSPC || err == EDQUOT)
    return Error{Rc::Unavailable, "the file cannot be stored: the disk is full"};
  return Error{Rc::Unavailable, std::string("the file cannot be stored: ") + std::strerror(err)};
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("fsync " + dir);
  return ok_status();
}

}  // namespace

struct Upload::Hash {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Hash() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Hash() { EVP_MD_CTX_free(ctx); }
};

Upload::Upload(const BlobStore& store, int fd, std::string temp_path)
    : store_(store), fd_(fd), temp_path_(std::move(temp_path)), hash_(std::make_unique<Hash>()) {}

Upload::~Upload() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

Status Upload::append(const char* data, std::size_t size) {
  if (size_ + size > store_.max_size_)
    return make_error(Rc::PayloadTooLarge,
                      "the file is over " + std::to_string(store_.max_size_) + " bytes");
  EVP_DigestUpdate(hash_->ctx, data, size);
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write " + temp_path_);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
  return ok_status();
}

Result<BlobInfo> Upload::commit() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(hash_->ctx, digest, &len);
  static const char* hex = "0123456789abcdef";
  BlobInfo info;
  info.size = size_;
  for (unsigned i = 0; i < len; ++i) {
    info.sha256 += hex[digest[i] >> 4];
    info.sha256 += hex[digest[i] & 15];
  }
  if (::fsync(fd_) != 0) return io_error("fsync " + temp_path_);
  ::close(fd_);
  fd_ = -1;
  std::string shard = store_.dir_ + "/" + info.sha256.substr(0, 2);
  if (::mkdir(shard.c_str(), 0700) != 0 && errno != EEXIST) return io_error("mkdir " + shard);
  std::string final_path = shard + "/" + info.sha256;
  struct stat st {};
  if (::stat(final_path.c_str(), &st) == 0) {
    // The same bytes are stored already. Touched, so that collect() keeps it while the new
    // file that refers to it is being recorded.
    ::utimensat(AT_FDCWD, final_path.c_str(), nullptr, 0);
    return info;
  }
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0)
    return io_error("rename to " + final_path);
  committed_ = true;
  if (auto s = fsync_dir(shard); !s) return s.error();
  return info;
}

Result<std::unique_ptr<BlobStore>> BlobStore::open(std::string dir, std::uint64_t max_size) {
  std::error_code ec;
  fs::create_directories(dir + "/tmp", ec);
  if (ec) return make_error(Rc::Unavailable, "cannot create " + dir + "/tmp: " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  // Temporary files are uploads a crash cut off: none of them was ever answered ok.
  for (const auto& entry : fs::directory_iterator(dir + "/tmp", ec)) fs::remove(entry.path(), ec);
  return std::unique_ptr<BlobStore>(new BlobStore(std::move(dir), max_size));
}

Result<std::unique_ptr<Upload>> BlobStore::begin() const {
  std::string path = dir_ + "/tmp/" + random_token(16);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create " + path);
  return std::unique_ptr<Upload>(new Upload(*this, fd, path));
}

BlobStore::Collected BlobStore::collect(const std::vector<std::string>& keep,
                                        std::int64_t grace_s) const {
  std::unordered_set<std::string> in_use(keep.begin(), keep.end());
  Collected out;
  std::error_code ec;
  auto now = std::chrono::system_clock::now();
  for (const auto& shard : fs::directory_iterator(dir_, ec)) {
    if (!shard.is_directory() || shard.path().filename() == "tmp") continue;
    for (const auto& blob : fs::directory_iterator(shard.path(), ec)) {
      std::string name = blob.path().filename().string();
      if (!is_hex64(name) || in_use.count(name)) continue;
      struct stat st {};
      if (::stat(blob.path().c_str(), &st) != 0) continue;
      auto written = std::chrono::system_clock::from_time_t(st.st_mtime);
      if (now - written < std::chrono::seconds(grace_s)) continue;
      if (::unlink(blob.path().c_str()) == 0) {
        ++out.blobs;
        out.bytes += static_cast<std::uint64_t>(st.st_size);
      }
    }
  }
  return out;
}

Result<std::string> BlobStore::path_of(std::string_view sha256) const {
  if (!is_hex64(sha256)) return make_error(Rc::NotFound, "no such blob");
  return dir_ + "/" + std::string(sha256.substr(0, 2)) + "/" + std::string(sha256);
}

}  // namespace rtm::files
