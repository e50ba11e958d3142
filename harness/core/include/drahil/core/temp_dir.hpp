// File: temp_dir.hpp
//
// TempDir: creates a fresh private directory and removes it, recursively, on
// destruction (unless Keep() was called). Move-only.
#ifndef DRAHIL_CORE_TEMP_DIR_HPP_INCLUDED
#define DRAHIL_CORE_TEMP_DIR_HPP_INCLUDED

#include <string>

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
  // Keep(): leave the directory behind (for debugging a failed case).
  void Keep() { keep_ = true; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool keep_ = false;
};

// RemoveAll(): rm -rf that does not follow symlinks and unmounts nothing.
// Missing paths are not an error.
Status RemoveAll(const std::string& path);

}  // namespace drahil

#endif  // DRAHIL_CORE_TEMP_DIR_HPP_INCLUDED
