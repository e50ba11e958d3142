// Object model: lossless round trips, accessors, the kinds registry, selectors.
#include "drahil/kube/object.hpp"

#include "drahil/testing/testing.hpp"

using drahil::kube::FieldSelector;
using drahil::kube::LabelSelector;
using drahil::kube::Object;

TEST_CASE("Object: JSON round trip keeps unknown fields, order of numbers and types",
          "[kube][object]") {
  const std::string text = R"({"apiVersion":"resource.k8s.io/v1","kind":"ResourceSlice",
    "metadata":{"name":"s","labels":{"a":"b"},"x-vendor":{"deep":[1,2.5,"3",true,null]}},
    "spec":{"driver":"gpu.example.com","futureField":{"n":9223372036854775807,"u":18446744073709551615},
            "devices":[{"name":"gpu-0","newThing":"kept"}]}})";
  Object obj = Object::parse(text);
  drahil::kube::SetLabel(obj, "c", "d");
  Object back = Object::parse(obj.dump());
  CHECK(back == obj);
  CHECK(back["metadata"]["x-vendor"]["deep"] == Object::parse(R"([1,2.5,"3",true,null])"));
  CHECK(back["spec"]["futureField"]["n"].get<int64_t>() == INT64_MAX);
  CHECK(back["spec"]["futureField"]["u"].get<uint64_t>() == UINT64_MAX);
  CHECK(back["spec"]["devices"][0]["newThing"] == "kept");
  CHECK(back["metadata"]["x-vendor"]["deep"][2].is_string());
}

TEST_CASE("Object: metadata accessors tolerate missing and mistyped fields", "[kube][object]") {
  Object obj =
      Object::parse(R"({"kind":"ResourceClaim","metadata":{"name":"c","namespace":"ns","uid":"u",
    "resourceVersion":"12","generation":3,"labels":{"a":"1","n":5},"finalizers":["f",7]}})");
  CHECK(drahil::kube::Name(obj) == "c");
  CHECK(drahil::kube::Namespace(obj) == "ns");
  CHECK(drahil::kube::Uid(obj) == "u");
  CHECK(drahil::kube::ResourceVersion(obj) == "12");
  CHECK(drahil::kube::Generation(obj) == 3);
  CHECK(drahil::kube::Labels(obj) == std::map<std::string, std::string>{{"a", "1"}});
  CHECK(drahil::kube::Finalizers(obj) == std::vector<std::string>{"f"});
  CHECK(drahil::kube::ObjectRef(obj) == "ResourceClaim ns/c");
  Object junk = Object::parse(R"({"metadata":"nope"})");
  CHECK(drahil::kube::Name(junk).empty());
  CHECK(drahil::kube::Labels(Object(3)).empty());
  drahil::kube::SetName(junk, "x");
  drahil::kube::SetResourceVersion(junk, "5");
  drahil::kube::SetAnnotation(junk, "k", "v");
  CHECK(junk["metadata"]["name"] == "x");
  CHECK(drahil::kube::Annotations(junk).at("k") == "v");
  CHECK(
      drahil::kube::FieldValue(Object::parse(R"({"spec":{"nodeName":"n1","allNodes":true,"n":4}})"),
                               "spec.nodeName") == "n1");
  CHECK(drahil::kube::FieldValue(Object::parse(R"({"spec":{"allNodes":true}})"), "spec.allNodes") ==
        "true");
  CHECK(drahil::kube::FieldValue(Object::parse(R"({"spec":{}})"), "spec.nodeName").empty());
}

TEST_CASE("Object: kinds registry", "[kube][object]") {
  auto all = drahil::kube::AllResources();
  CHECK(all.size() == 9);
  const auto* slice = drahil::kube::FindByKind("ResourceSlice");
  REQUIRE(slice != nullptr);
  CHECK(slice->resource == "resourceslices");
  CHECK(slice->GroupVersion() == "resource.k8s.io/v1");
  CHECK(slice->ListKind() == "ResourceSliceList");
  CHECK_FALSE(slice->namespaced);
  CHECK(slice->SupportsFieldSelector("spec.nodeName"));
  CHECK(slice->SupportsFieldSelector("spec.driver"));
  CHECK(slice->SupportsFieldSelector("metadata.name"));
  CHECK_FALSE(slice->SupportsFieldSelector("spec.pool.name"));
  CHECK(drahil::kube::FindByKind("ResourceSlice", "resource.k8s.io/v1beta1") == nullptr);
  const auto* claim = drahil::kube::FindByResource("resource.k8s.io", "resourceclaims");
  REQUIRE(claim != nullptr);
  CHECK(claim->namespaced);
  CHECK(claim->has_status);
  const auto* pod = drahil::kube::FindByResource("", "pods");
  REQUIRE(pod != nullptr);
  CHECK(pod->GroupVersion() == "v1");
  CHECK(drahil::kube::FindByResource("resource.k8s.io", "pods") == nullptr);
  for (const char* k :
       {"DeviceClass", "ResourceClaimTemplate", "DeviceTaintRule", "Namespace", "Node", "Event"}) {
    CHECK(drahil::kube::FindByKind(k) != nullptr);
  }
  CHECK(
      drahil::kube::ResourceFor(Object::parse(R"({"apiVersion":"v1","kind":"Node"})"))->resource ==
      "nodes");
  CHECK(drahil::kube::ResourceFor(Object::parse(R"({"apiVersion":"v2","kind":"Node"})")) ==
        nullptr);
}

TEST_CASE("LabelSelector: equality, set-based and existence requirements", "[kube][selector]") {
  std::map<std::string, std::string> labels = {{"app", "web"}, {"tier", "front"}, {"gpus", "4"}};
  auto match = [&](const std::string& s) {
    auto sel = LabelSelector::Parse(s);
    INFO(s << ": " << sel.status().ToString());
    REQUIRE(sel.ok());
    return sel->Matches(labels);
  };
  CHECK(match(""));
  CHECK(match("app=web"));
  CHECK(match("app==web"));
  CHECK_FALSE(match("app=db"));
  CHECK(match("app!=db"));
  CHECK(match("missing!=x"));  // as in Kubernetes: absent keys satisfy !=
  CHECK(match("app in (db, web)"));
  CHECK_FALSE(match("app notin (web)"));
  CHECK(match("missing notin (web)"));
  CHECK(match("tier"));
  CHECK_FALSE(match("!tier"));
  CHECK(match("!missing"));
  CHECK(match("gpus>3"));
  CHECK_FALSE(match("gpus<4"));
  CHECK(match("app=web, tier in (front,back), !missing"));
  CHECK_FALSE(match("app=web,tier=back"));
  auto sel = LabelSelector::Parse("tier in (b,a,a),app=web");
  REQUIRE(sel.ok());
  CHECK(sel->ToString() == "app=web,tier in (a,b)");
  CHECK(sel->MatchesObject(Object::parse(R"({"metadata":{"labels":{"app":"web","tier":"a"}}})")));
  CHECK(match("missing=") == false);  // "app=" is valid: the empty value
  for (const char* bad : {"app=a=b", "=web", "app in web", "app in (a", "a b", "app=web,", "-bad=x",
                          "app=a b", "app>x",
                          "app="
                          "-x"}) {
    auto r = LabelSelector::Parse(bad);
    INFO(bad);
    CHECK_FALSE(r.ok());
    CHECK(r.status().code() == drahil::Code::kInvalidArgument);
  }
  CHECK(LabelSelector::Parse("app in web").status().message() ==
        "label selector \"app in web\": at 7: expected '(' after set operator");
}

TEST_CASE("LabelSelector: from a metav1.LabelSelector object", "[kube][selector]") {
  auto sel = LabelSelector::FromJson(Object::parse(
      R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]},
          {"key":"gone","operator":"DoesNotExist"}]})"));
  REQUIRE(sel.ok());
  CHECK(sel->Matches({{"app", "web"}, {"tier", "b"}}));
  CHECK_FALSE(sel->Matches({{"app", "web"}, {"tier", "b"}, {"gone", "x"}}));
  CHECK(LabelSelector::FromJson(Object()).ok());
  CHECK(LabelSelector::FromJson(Object()).value().Empty());
  CHECK_FALSE(LabelSelector::FromJson(
                  Object::parse(R"({"matchExpressions":[{"key":"a","operator":"In"}]})"))
                  .ok());
  CHECK_FALSE(LabelSelector::FromJson(
                  Object::parse(R"({"matchExpressions":[{"key":"a","operator":"Near"}]})"))
                  .ok());
}

TEST_CASE("FieldSelector: parse, escape and match", "[kube][selector]") {
  Object slice = Object::parse(
      R"({"metadata":{"name":"s1"},"spec":{"driver":"gpu.example.com","nodeName":"node1"}})");
  auto sel = FieldSelector::Parse("spec.driver=gpu.example.com,spec.nodeName=node1");
  REQUIRE(sel.ok());
  CHECK(sel->Matches(slice));
  CHECK(sel->RequiredValue("spec.nodeName") == std::optional<std::string>("node1"));
  CHECK_FALSE(sel->RequiredValue("metadata.name").has_value());
  CHECK(FieldSelector::Parse("spec.nodeName!=node2")->Matches(slice));
  CHECK_FALSE(FieldSelector::Parse("spec.nodeName==node2")->Matches(slice));
  // An absent field compares as "": spec.nodeName= selects slices without a node.
  CHECK(FieldSelector::Parse("spec.nodeName=")
            ->Matches(Object::parse(R"({"spec":{"allNodes":true}})")));
  auto esc = FieldSelector::Parse(R"(metadata.name=a\,b\=c\\d)");
  REQUIRE(esc.ok());
  CHECK(esc->requirements()[0].value == R"(a,b=c\d)");
  CHECK(esc->ToString() == R"(metadata.name=a\,b\=c\\d)");
  CHECK(FieldSelector::Parse("")->Empty());
  for (const char* bad : {"spec.nodeName", "=x", "a=b=c", "a=b\\", "a=\\q"}) {
    INFO(bad);
    CHECK_FALSE(FieldSelector::Parse(bad).ok());
  }
}
