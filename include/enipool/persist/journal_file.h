// -----------------------------------------------------------------------------
// File: persist/journal_file.h
// -----------------------------------------------------------------------------
//
// The file layer under the journal (persist/journal.h): the few operations a
// crash-safe append-only log needs, behind a small interface so tests can
// substitute a file system that fails on cue or that "crashes" (keeps only a
// prefix of what was written), and the POSIX implementation used in
// production (open/write/fdatasync/ftruncate/rename, every error an
// absl::Status naming the path and errno text).
//
// Example:
//
//   enipool::PosixFileSystem fs;
//   ENIPOOL_ASSIGN_OR_RETURN(auto file, fs.OpenForAppend("/var/lib/enipool/journal"));
//   ENIPOOL_RETURN_IF_ERROR(file->Append("record bytes"));
//   ENIPOOL_RETURN_IF_ERROR(file->Sync());                       // fdatasync
//   ENIPOOL_RETURN_IF_ERROR(fs.WriteFileAtomically("/var/lib/enipool/journal", snapshot));
//
// Thread-safety: none; the journal serialises its own calls.

#ifndef ENIPOOL_PERSIST_JOURNAL_FILE_H_
#define ENIPOOL_PERSIST_JOURNAL_FILE_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace enipool {

// AppendFile
//
// An open file that grows only at its end.
class AppendFile {
 public:
  virtual ~AppendFile() = default;

  // AppendFile::Append()
  //
  // Writes all of `data` at the end of the file (the OS may still hold it in
  // its cache). On error some prefix of `data` may have been written; the
  // caller truncates back.
  [[nodiscard]] virtual absl::Status Append(absl::string_view data) = 0;

  // AppendFile::Sync()
  //
  // Makes everything appended so far durable (fdatasync).
  [[nodiscard]] virtual absl::Status Sync() = 0;

  // AppendFile::Truncate()
  //
  // Cuts the file to `size` bytes; later appends go at the new end.
  [[nodiscard]] virtual absl::Status Truncate(std::uint64_t size) = 0;

  // AppendFile::size()
  //
  // The file's length as this handle knows it (what was read plus what was
  // appended since).
  [[nodiscard]] virtual std::uint64_t size() const = 0;
};

// JournalFileSystem
//
// The operations on whole files the journal needs.
class JournalFileSystem {
 public:
  virtual ~JournalFileSystem() = default;

  // JournalFileSystem::ReadFile()
  //
  // The whole file; NOT_FOUND if it does not exist.
  [[nodiscard]] virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;

  // JournalFileSystem::OpenForAppend()
  //
  // Opens `path` for appending, creating it empty if it does not exist (and
  // making the new directory entry durable).
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<AppendFile>> OpenForAppend(
      const std::string& path) = 0;

  // JournalFileSystem::WriteFileAtomically()
  //
  // Replaces `path` by a file holding `contents`: afterwards, even across a
  // crash, `path` holds either its old contents or all of `contents`
  // (temporary file in the same directory, fsync, rename, fsync directory).
  [[nodiscard]] virtual absl::Status WriteFileAtomically(const std::string& path,
                                                         absl::string_view contents) = 0;
};

namespace internal {

inline absl::Status ErrnoError(absl::string_view what, const std::string& path, int error) {
  const std::string text = std::strerror(error);
  const std::string message = absl::StrCat(what, " ", path, ": ", text);
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

inline std::string DirectoryOf(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

inline absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("cannot fsync directory", dir, error);
  return absl::OkStatus();
}

inline absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

class PosixAppendFile final : public AppendFile {
 public:
  PosixAppendFile(int fd, std::string path, std::uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  PosixAppendFile(const PosixAppendFile&) = delete;
  PosixAppendFile& operator=(const PosixAppendFile&) = delete;
  ~PosixAppendFile() override { ::close(fd_); }

  absl::Status Append(absl::string_view data) override {
    const absl::Status status = WriteAll(fd_, data, path_);
    // Where the end is after a failed write is unknown: ask the file.
    if (!status.ok()) {
      struct stat st {};
      if (::fstat(fd_, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
      return status;
    }
    size_ += data.size();
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoError("cannot fdatasync", path_, errno);
    return absl::OkStatus();
  }
  absl::Status Truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoError("cannot truncate", path_, errno);
    }
    size_ = size;
    return absl::OkStatus();
  }
  std::uint64_t size() const override { return size_; }

 private:
  int fd_;
  std::string path_;
  std::uint64_t size_;
};

}  // namespace internal

// PosixFileSystem
//
// The real file system. Appends use O_APPEND, so a truncate followed by an
// append writes at the new end.
class PosixFileSystem final : public JournalFileSystem {
 public:
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return internal::ErrnoError("cannot open", path, errno);
    std::string contents;
    char buffer[1 << 16];
    while (true) {
      const ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        ::close(fd);
        return internal::ErrnoError("cannot read", path, error);
      }
      if (n == 0) break;
      contents.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return contents;
  }

  absl::StatusOr<std::unique_ptr<AppendFile>> OpenForAppend(const std::string& path) override {
    const bool existed = ::access(path.c_str(), F_OK) == 0;
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return internal::ErrnoError("cannot open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int error = errno;
      ::close(fd);
      return internal::ErrnoError("cannot stat", path, error);
    }
    if (!existed) {
      if (absl::Status s = internal::SyncDirectory(internal::DirectoryOf(path)); !s.ok()) {
        ::close(fd);
        return s;
      }
    }
    return std::unique_ptr<AppendFile>(
        new internal::PosixAppendFile(fd, path, static_cast<std::uint64_t>(st.st_size)));
  }

  absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) override {
    const std::string temp = absl::StrCat(path, ".tmp");
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return internal::ErrnoError("cannot create", temp, errno);
    absl::Status status = internal::WriteAll(fd, contents, temp);
    if (status.ok() && ::fsync(fd) != 0) status = internal::ErrnoError("cannot fsync", temp, errno);
    ::close(fd);
    if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
      status = internal::ErrnoError("cannot rename onto", path, errno);
    }
    if (!status.ok()) {
      ::unlink(temp.c_str());
      return status;
    }
    return internal::SyncDirectory(internal::DirectoryOf(path));
  }
};

}  // namespace enipool

#endif  // ENIPOOL_PERSIST_JOURNAL_FILE_H_
