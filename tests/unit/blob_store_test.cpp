// BlobStore on a real directory: blobs named by their SHA-256, stored once, bounded, never
// half-written; collect() removes only unreferenced blobs past the grace.
#include "files/blob_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace rtm::files {
namespace {

namespace fs = std::filesystem;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rtm-blobs-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto store = BlobStore::open((dir_ / "files").string(), 1000);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  BlobInfo put(const std::string& bytes) {
    auto up = store_->begin();
    EXPECT_TRUE(up.ok());
    EXPECT_TRUE((*up)->append(bytes.data(), bytes.size()).ok());
    auto info = (*up)->commit();
    EXPECT_TRUE(info.ok());
    return *info;
  }
  std::size_t temp_files() {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir_ / "files" / "tmp"), fs::directory_iterator()));
  }
  fs::path dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, ABlobIsNamedByTheSha256OfItsBytes) {
  auto info = put("abc");
  EXPECT_EQ(info.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(info.size, 3u);
  std::ifstream in(*store_->path_of(info.sha256));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "abc");
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(BlobStoreTest, TheSameBytesAreStoredOnce) {
  auto a = put("same");
  auto b = put("same");
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(temp_files(), 0u);
  std::size_t blobs = 0;
  for (auto& e : fs::recursive_directory_iterator(dir_ / "files"))
    if (e.is_regular_file()) ++blobs;
  EXPECT_EQ(blobs, 1u);
}

TEST_F(BlobStoreTest, PastTheLimitIsPayloadTooLargeAndAnUncommittedUploadLeavesNothing) {
  {
    auto up = store_->begin();
    ASSERT_TRUE(up.ok());
    std::string big(600, 'x');
    ASSERT_TRUE((*up)->append(big.data(), big.size()).ok());
    auto over = (*up)->append(big.data(), big.size());
    ASSERT_FALSE(over.ok());
    EXPECT_EQ(over.error().rc, Rc::PayloadTooLarge);
    EXPECT_EQ(temp_files(), 1u);
  }
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(BlobStoreTest, PathOfRefusesAnythingButAHash) {
  EXPECT_FALSE(store_->path_of("../../etc/passwd").ok());
  EXPECT_FALSE(store_->path_of(std::string(64, 'G')).ok());
  EXPECT_TRUE(store_->path_of(std::string(64, 'a')).ok());
}

TEST_F(BlobStoreTest, CollectRemovesOnlyUnreferencedBlobsPastTheGrace) {
  auto keep = put("keep me");
  auto drop = put("drop me");
  auto young = store_->collect({keep.sha256}, 3600);
  EXPECT_EQ(young.blobs, 0u);  // both are younger than the grace
  auto done = store_->collect({keep.sha256}, 0);
  EXPECT_EQ(done.blobs, 1u);
  EXPECT_EQ(done.bytes, drop.size);
  EXPECT_TRUE(fs::exists(*store_->path_of(keep.sha256)));
  EXPECT_FALSE(fs::exists(*store_->path_of(drop.sha256)));
}

TEST_F(BlobStoreTest, OpeningRemovesUploadsACrashCutOff) {
  std::ofstream(dir_ / "files" / "tmp" / "leftover") << "half";
  auto again = BlobStore::open((dir_ / "files").string(), 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(temp_files(), 0u);
}

}  // namespace
}  // namespace rtm::files
