// -----------------------------------------------------------------------------
// File: testing/memory_file_system.h
// -----------------------------------------------------------------------------
//
// A JournalFileSystem in memory for tests: it remembers how much of each file
// was synced (so a test can "lose power" and keep only that), lets a test cut
// or edit a file, and fails chosen operations on cue.
//
// Example:
//
//   enipool::testing::MemoryFileSystem fs;
//   fs.fail_appends_after = 3;                     // the 4th append fails
//   ... JournaledDatastore::Open("j", clock, {.journal = {.file_system = &fs}}) ...
//   fs.PowerLoss();                                // unsynced bytes vanish

#ifndef ENIPOOL_TESTS_TESTING_MEMORY_FILE_SYSTEM_H_
#define ENIPOOL_TESTS_TESTING_MEMORY_FILE_SYSTEM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "enipool/persist/journal_file.h"

namespace enipool::testing {

class MemoryFileSystem final : public JournalFileSystem {
 public:
  struct File {
    std::string data;
    std::uint64_t synced = 0;  // bytes known to be on "disk"
  };

  // Fault injection: a count of operations that still succeed (-1 = never fail).
  int fail_appends_after = -1;
  bool partial_append_on_failure = false;  // a failing append writes half its bytes first
  int fail_syncs_after = -1;
  int fail_truncates_after = -1;
  int fail_atomic_writes_after = -1;
  int syncs = 0;

  std::map<std::string, File> files;

  // MemoryFileSystem::PowerLoss()
  //
  // Drops every byte that was not synced.
  void PowerLoss() {
    for (auto& [path, file] : files) file.data.resize(file.synced);
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    const auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(absl::StrCat("no file ", path));
    return it->second.data;
  }

  absl::StatusOr<std::unique_ptr<AppendFile>> OpenForAppend(const std::string& path) override {
    files.try_emplace(path);
    return std::unique_ptr<AppendFile>(new Handle(this, path));
  }

  absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) override {
    if (Fails(fail_atomic_writes_after)) return absl::UnavailableError("injected rename failure");
    File& file = files[path];
    file.data = std::string(contents);
    file.synced = file.data.size();
    return absl::OkStatus();
  }

 private:
  static bool Fails(int& budget) {
    if (budget < 0) return false;
    if (budget == 0) return true;
    --budget;
    return false;
  }

  class Handle final : public AppendFile {
   public:
    Handle(MemoryFileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
    absl::Status Append(absl::string_view data) override {
      File& f = file();
      if (Fails(fs_->fail_appends_after)) {
        if (fs_->partial_append_on_failure) f.data.append(data.data(), data.size() / 2);
        return absl::ResourceExhaustedError(absl::StrCat("injected write failure on ", path_));
      }
      f.data.append(data.data(), data.size());
      return absl::OkStatus();
    }
    absl::Status Sync() override {
      if (Fails(fs_->fail_syncs_after)) return absl::UnavailableError("injected fdatasync failure");
      File& f = file();
      f.synced = f.data.size();
      ++fs_->syncs;
      return absl::OkStatus();
    }
    absl::Status Truncate(std::uint64_t size) override {
      if (Fails(fs_->fail_truncates_after)) return absl::UnavailableError("injected truncate failure");
      File& f = file();
      f.data.resize(size);
      if (f.synced > size) f.synced = size;
      return absl::OkStatus();
    }
    std::uint64_t size() const override { return fs_->files[path_].data.size(); }

   private:
    File& file() { return fs_->files[path_]; }
    MemoryFileSystem* fs_;
    std::string path_;
  };
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_MEMORY_FILE_SYSTEM_H_
