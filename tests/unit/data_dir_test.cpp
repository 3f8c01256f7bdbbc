// The data dir's lock and modes (app/data_dir.hpp) on a real directory: one holder at a time,
// the refusal names the holder, the lock goes with its holder, looser modes are tightened and
// symbolic links are left alone.
#include "app/data_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rtm::app {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rtm-datadir-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ / "data";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void write_file(const fs::path& p, mode_t mode) {
    std::ofstream(p) << "x";
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }
  fs::path root_;
  fs::path dir_;
};

TEST_F(DataDirTest, AcquireCreatesTheDirectoryPrivate) {
  auto lock = DataDirLock::acquire(dir_.string());
  ASSERT_TRUE(lock.ok()) << lock.error().msg;
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(dir_ / kLockFileName), 0600u);
}

TEST_F(DataDirTest, ASecondLockOnTheDirectoryIsRefusedNamingTheHolder) {
  auto first = DataDirLock::acquire(dir_.string());
  ASSERT_TRUE(first.ok()) << first.error().msg;
  auto second = DataDirLock::acquire(dir_.string());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().rc, Rc::Unavailable);
  std::string pid = std::to_string(::getpid());
  EXPECT_EQ(second.error().msg,
            "data dir " + dir_.string() + " is in use by another rtmd (pid " + pid + ")");
  (*first)->record_listen("127.0.0.1", 8080);
  second = DataDirLock::acquire(dir_.string());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().msg, "data dir " + dir_.string() + " is in use by another rtmd (pid " +
                                    pid + ", listening on 127.0.0.1:8080)");
  (*first)->record_listen("::1", 9);
  second = DataDirLock::acquire(dir_.string());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().msg.find("listening on [::1]:9)"), std::string::npos)
      << second.error().msg;
}

TEST_F(DataDirTest, TheLockIsFreeOnceItsHolderIsGoneWhateverTheFileSays) {
  {
    auto first = DataDirLock::acquire(dir_.string());
    ASSERT_TRUE(first.ok());
    (*first)->record_listen("127.0.0.1", 8080);
  }
  // The file stays, with the old holder's text: only the flock counts.
  std::ifstream in(dir_ / kLockFileName);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("listen=127.0.0.1:8080"), std::string::npos);
  auto next = DataDirLock::acquire(dir_.string());
  ASSERT_TRUE(next.ok()) << next.error().msg;
}

TEST_F(DataDirTest, ALinkInPlaceOfTheLockFileIsRefused) {
  fs::create_directories(dir_);
  write_file(root_ / "elsewhere", 0644);
  fs::create_symlink(root_ / "elsewhere", dir_ / kLockFileName);
  auto lock = DataDirLock::acquire(dir_.string());
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().msg.find("cannot open the lock file"), std::string::npos)
      << lock.error().msg;
}

TEST_F(DataDirTest, TightenModesTakesGroupAndOtherAwayAndReportsTheFirstPath) {
  fs::create_directories(dir_ / "files" / "ab");
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ / "files").c_str(), 0750), 0);
  ASSERT_EQ(::chmod((dir_ / "files" / "ab").c_str(), 0700), 0);
  write_file(dir_ / "rtm.db", 0644);
  write_file(dir_ / "files" / "ab" / "blob", 0640);
  write_file(dir_ / "api-key", 0600);
  write_file(root_ / "outside", 0644);
  fs::create_symlink(root_ / "outside", dir_ / "link");

  Tightened t = tighten_modes(dir_.string());
  EXPECT_EQ(t.count, 4u);  // data, files, rtm.db, blob
  EXPECT_EQ(t.failed, 0u);
  EXPECT_EQ(t.first_path, dir_.string());
  EXPECT_EQ(octal_mode(t.first_old_mode), "0755");
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(dir_ / "files"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "rtm.db"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "files" / "ab" / "blob"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "api-key"), 0600u);
  EXPECT_EQ(mode_of(root_ / "outside"), 0644u) << "a link's target is not the data dir's";

  Tightened again = tighten_modes(dir_.string());
  EXPECT_EQ(again.count, 0u);
}

TEST_F(DataDirTest, TightenModesLeavesWhatIsNotRtmdsAloneAndCountsWhatIsLoose) {
  // --data-dir . in a project, or ~: rtmd's entries beside a person's own files.
  fs::create_directories(dir_ / "files" / "ab");
  fs::create_directories(dir_ / "projects" / "site");
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ / "projects").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ / "projects" / "site").c_str(), 0775), 0);
  write_file(dir_ / "projects" / "site" / "index.html", 0644);
  write_file(dir_ / "notes.txt", 0644);
  write_file(dir_ / "rtm.db.bak", 0640);  // a name like rtmd's is still not rtmd's
  write_file(dir_ / "secret", 0600);      // private already: nothing to say
  write_file(dir_ / "rtm.db", 0644);
  write_file(dir_ / "rtm.db-journal", 0644);
  write_file(dir_ / "rtmd.lock", 0664);
  write_file(dir_ / "files" / "ab" / "blob", 0644);
  ASSERT_EQ(::chmod((dir_ / "files").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ / "files" / "ab").c_str(), 0755), 0);

  Tightened t = tighten_modes(dir_.string());
  EXPECT_EQ(t.count, 7u);  // data, rtm.db, rtm.db-journal, rtmd.lock, files, files/ab, blob
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(dir_ / "files" / "ab"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "rtm.db"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "rtm.db-journal"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "rtmd.lock"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "files" / "ab" / "blob"), 0600u);

  EXPECT_EQ(mode_of(dir_ / "notes.txt"), 0644u);
  EXPECT_EQ(mode_of(dir_ / "rtm.db.bak"), 0640u);
  EXPECT_EQ(mode_of(dir_ / "projects"), 0755u);
  EXPECT_EQ(mode_of(dir_ / "projects" / "site"), 0775u);
  EXPECT_EQ(mode_of(dir_ / "projects" / "site" / "index.html"), 0644u);
  EXPECT_EQ(mode_of(dir_ / "secret"), 0600u);
  // notes.txt, rtm.db.bak, projects (what is inside a foreign directory is not walked).
  EXPECT_EQ(t.foreign_loose, 3u);
  EXPECT_TRUE(t.foreign_path == (dir_ / "notes.txt").string() ||
              t.foreign_path == (dir_ / "rtm.db.bak").string() ||
              t.foreign_path == (dir_ / "projects").string())
      << t.foreign_path;
  EXPECT_EQ(t.foreign_mode, mode_of(t.foreign_path));

  Tightened again = tighten_modes(dir_.string());
  EXPECT_EQ(again.count, 0u);
  EXPECT_EQ(again.foreign_loose, 3u);  // still there, still said
}

TEST_F(DataDirTest, OpenDataDirMakesNewFilesPrivate) {
  mode_t before = ::umask(022);
  auto lock = open_data_dir(dir_.string());
  ASSERT_TRUE(lock.ok()) << lock.error().msg;
  std::ofstream(dir_ / "created") << "x";
  EXPECT_EQ(mode_of(dir_ / "created"), 0600u);
  fs::create_directory(dir_ / "sub");
  EXPECT_EQ(mode_of(dir_ / "sub"), 0700u);
  ::umask(before);
}

}  // namespace
}  // namespace rtm::app
