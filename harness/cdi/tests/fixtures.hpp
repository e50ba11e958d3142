// Helpers shared by the cdi tests: fixture paths and "# expect" comments.
#ifndef DRAHIL_CDI_TESTS_FIXTURES_HPP_INCLUDED
#define DRAHIL_CDI_TESTS_FIXTURES_HPP_INCLUDED

#include <sstream>
#include <string>
#include <vector>

#include "drahil/core/file_util.hpp"
#include "drahil/testing/testing.hpp"

namespace drahil::cdi::testdata {

inline std::string Dir(const std::string& sub) {
  return drahil::testing::SourceDir() + "/harness/cdi/tests/testdata/" + sub;
}

inline std::vector<std::string> Files(const std::string& sub) {
  std::vector<std::string> out;
  auto names = ListDir(Dir(sub));
  if (!names.ok()) return out;
  for (const auto& n : *names) out.push_back(Dir(sub) + "/" + n);
  return out;
}

// ExpectLine(path, "expect"): the words after "# expect:" on the first line.
inline std::vector<std::string> ExpectWords(const std::string& path, const std::string& tag) {
  auto text = ReadFile(path);
  std::vector<std::string> words;
  if (!text.ok()) return words;
  std::string first = text->substr(0, text->find('\n'));
  std::string prefix = "# " + tag + ": ";
  if (first.rfind(prefix, 0) != 0) return words;
  std::istringstream in(first.substr(prefix.size()));
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

}  // namespace drahil::cdi::testdata

#endif  // DRAHIL_CDI_TESTS_FIXTURES_HPP_INCLUDED
