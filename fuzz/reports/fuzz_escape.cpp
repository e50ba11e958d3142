// Fuzzes the report escaper and the JUnit/HTML writers with arbitrary bytes:
// the output must always be XML-safe and parse back as XML, and the HTML keeps
// its one script.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <pugixml.hpp>
#include <string>

#include "drahil/reports/text.hpp"
#include "drahil/reports/writers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::string clean = drahil::reports::SanitizeXmlText(in);
  if (!drahil::reports::IsXmlSafe(clean)) std::abort();
  if (drahil::reports::SanitizeXmlText(clean) != clean) std::abort();  // idempotent
  if (drahil::reports::IsXmlSafe(in) && clean != in) std::abort();

  drahil::reports::RunReport r;
  drahil::reports::SuiteResult s;
  s.name = in.empty() ? "s" : in;
  drahil::reports::CaseResult c;
  c.id = in;
  c.feature = in;
  c.verdict = drahil::reports::Verdict::kFail;
  c.message = in;
  c.output = in;
  c.driver_log = in;
  c.title = in;
  c.tags = {in};
  c.calls.push_back({0, "grpc", in, in, 1, in});
  c.calls.push_back({0.5, in, in, in, 2, in});  // any kind, also "step" and "probe"
  c.calls.push_back({1, "probe", in, in, 3, in});
  c.measurements.push_back({"probe." + in, 1, in, in, {}});
  s.cases.push_back(c);
  r.suites.push_back(s);
  pugi::xml_document doc;
  if (!doc.load_string(drahil::reports::RenderJUnit(r).c_str())) std::abort();
  std::string html = drahil::reports::RenderHtml(r);
  if (!doc.load_string(html.c_str(), pugi::parse_default | pugi::parse_doctype)) std::abort();
  // A driver's text never adds markup: the page's own script stays the only one.
  if (html.find("<script") != html.rfind("<script")) std::abort();
  return 0;
}
