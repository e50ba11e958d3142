// File: file_util.hpp
//
// Small file helpers with Status errors that name the path.
#ifndef DRAHIL_CORE_FILE_UTIL_HPP_INCLUDED
#define DRAHIL_CORE_FILE_UTIL_HPP_INCLUDED

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil {

// ReadFile(): whole file; fails with kNotFound / kPermissionDenied naming the
// path, and with kResourceExhausted when the file is larger than max_bytes.
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 256u << 20);

// ReadRegularFile(): ReadFile() for files someone else controls (a driver's
// CDI specs): opened with O_NONBLOCK and checked with fstat() before any read,
// so a FIFO, socket or device node fails at once with kFailedPrecondition
// ("PATH is a FIFO, not a regular file") instead of blocking. Symlinks are
// followed, as a container runtime follows them; the check applies to the
// file they lead to.
Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes = 256u << 20);

// AtomicWriteFile(): writes data so that readers see either the old file or
// the complete new one, never a prefix, even if the process dies midway:
// write to "<dir>/.<name>.tmp-XXXXXX", fsync, rename over path, fsync dir.
// The temporary file is removed on any error.
Status AtomicWriteFile(const std::string& path, std::string_view data, mode_t mode = 0644);

// MakeDirs(): mkdir -p with mode for created directories.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// ListDir(): names in a directory (no "." or ".."), sorted.
Result<std::vector<std::string>> ListDir(const std::string& path);

bool PathExists(const std::string& path);

}  // namespace drahil

#endif  // DRAHIL_CORE_FILE_UTIL_HPP_INCLUDED
