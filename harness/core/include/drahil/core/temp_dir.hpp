// File: temp_dir.hpp
//
// TempDir: creates a fresh private directory and removes it, recursively, on
// destruction (unless Keep() was called). Move-only.
#ifndef DRAHIL_CORE_TEMP_DIR_HPP_INCLUDED
#define DRAHIL_CORE_TEMP_DIR_HPP_INCLUDED

#include <string>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil {

class TempDir {
 public:
  // Create(): a new directory "<base>/<prefix>XXXXXX" (base defaults to
  // $TMPDIR or /tmp), mode 0700.
  static Result<TempDir> Create(const std::string& prefix = "drahil-",
                                const std::string& base = "");
  TempDir(TempDir&& o) noexcept;
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  [[nodiscard]] const std::string& path() const { return path_; }
  // Join("a/b"): path() + "/a/b".
  [[nodiscard]] std::string Join(const std::string& rel) const { return path_ + "/" + rel; }
  // Keep(): leave the directory behind (for debugging a failed case). A
  // kept directory loses its owner mark when the TempDir goes, so no later
  // run takes it for abandoned.
  void Keep() { keep_ = true; }
  // MarkOwned(): writes kOwnerFile (this process's PID and start time), so
  // that if this process dies without removing the directory (SIGKILL, a
  // crash) a later run finds it abandoned: RemoveAbandonedTempDirs().
  Status MarkOwned();

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool keep_ = false;
};

inline constexpr const char* kOwnerFile = ".drahil-owner";

// AbandonedDir: what RemoveAbandonedTempDirs() cleaned up in one directory.
struct AbandonedDir {
  std::string path;
  long owner_pid = 0;
  int processes_killed = 0;  // processes still running from or in it
  int mounts_detached = 0;   // mount points under it
  Status removed;            // RemoveAll()'s outcome
};

// RemoveAbandonedTempDirs(): the directories "<base>/<prefix>*" whose owner
// mark names a process that is gone (no such PID, or another process under
// that PID: the start time differs): SIGKILLs what still runs from them
// (a process whose command line names a path in the directory, or whose
// executable is in it), detaches the mounts under them, removes them. Directories
// without a mark (kept ones, another tool's) and those of a live owner are
// left alone.
std::vector<AbandonedDir> RemoveAbandonedTempDirs(const std::string& base,
                                                  const std::vector<std::string>& prefixes);

// RemoveAll(): rm -rf that does not follow symlinks and unmounts nothing.
// Missing paths are not an error.
Status RemoveAll(const std::string& path);

}  // namespace drahil

#endif  // DRAHIL_CORE_TEMP_DIR_HPP_INCLUDED
