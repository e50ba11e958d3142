#include "drahil/core/feature_gates.hpp"

#include "drahil/testing/testing.hpp"

using drahil::FeatureGates;
using drahil::KubeVersion;
namespace features = drahil::features;

TEST_CASE("KubeVersion: parses major.minor with optional v and patch", "[core][feature-gates]") {
  CHECK(KubeVersion::Parse("1.34")->minor == 34);
  CHECK(KubeVersion::Parse("v1.35")->minor == 35);
  CHECK(KubeVersion::Parse(" 1.36.2 ")->minor == 36);
  CHECK(KubeVersion::Parse("1.36")->ToString() == "1.36");
  CHECK(KubeVersion::Parse("1.35")->GitVersion() == "v1.35.0");
  auto old = KubeVersion::Parse("1.33");
  REQUIRE_FALSE(old.ok());
  CHECK_THAT(old.status().message(), Catch::Contains("1.34 to 1.36"));
  for (const char* bad : {"", "1", "2.34", "1.x", "1.34.1.1", "1..34", "one"}) {
    INFO(bad);
    CHECK_FALSE(KubeVersion::Parse(bad).ok());
  }
}

// The defaults are those of each release's VersionedSpecs
// (pkg/features/kube_features.go): alpha gates off, beta and GA gates on,
// except the off-by-default beta DRADeviceTaintRules.
TEST_CASE("FeatureGates: each version has its release's defaults", "[core][feature-gates]") {
  auto g34 = FeatureGates::For(KubeVersion{34});
  auto g35 = FeatureGates::For(KubeVersion{35});
  auto g36 = FeatureGates::For(KubeVersion{36});
  REQUIRE(g34.ok());
  REQUIRE(g35.ok());
  REQUIRE(g36.ok());
  for (const char* alpha : {features::kDRADeviceTaints, features::kDRAPartitionableDevices,
                            features::kDRAConsumableCapacity, features::kDRADeviceBindingConditions,
                            features::kDRAExtendedResource, features::kResourceHealthStatus}) {
    INFO(alpha);
    CHECK_FALSE(g34->Enabled(alpha));
    CHECK_FALSE(g35->Enabled(alpha));
    CHECK(g36->Enabled(alpha));
  }
  for (const char* beta :
       {features::kDRAAdminAccess, features::kDRAPrioritizedList,
        features::kDRAResourceClaimDeviceStatus, features::kDynamicResourceAllocation}) {
    INFO(beta);
    CHECK(g34->Enabled(beta));
    CHECK(g36->Enabled(beta));
  }
  CHECK_FALSE(g34->Known(features::kDRADeviceTaintRules));
  CHECK_FALSE(g35->Enabled(features::kDRADeviceTaintRules));
  CHECK_FALSE(g36->Enabled(features::kDRADeviceTaintRules));
  CHECK_FALSE(g35->Known(features::kDRAListTypeAttributes));
  CHECK(g36->Known(features::kDRAListTypeAttributes));
  CHECK(FeatureGates::Newest().version() == KubeVersion::Newest());
  CHECK(FeatureGates::Newest().Overrides().empty());
}

TEST_CASE("FeatureGates: --feature-gates overrides, with upstream's errors",
          "[core][feature-gates]") {
  auto g = FeatureGates::For(KubeVersion{34}, "DRADeviceTaints=true, DRAPrioritizedList=false");
  REQUIRE(g.ok());
  CHECK(g->Enabled(features::kDRADeviceTaints));
  CHECK_FALSE(g->Enabled(features::kDRAPrioritizedList));
  CHECK(g->Overrides() == "DRADeviceTaints=true,DRAPrioritizedList=false");
  CHECK_THAT(g->ToString(), Catch::Contains("DRADeviceTaints=true"));
  CHECK(g->Describe(features::kDRADeviceTaints) ==
        "DRADeviceTaints (alpha in Kubernetes 1.34, turned on by --feature-gates)");
  CHECK(g->Describe(features::kDRAPartitionableDevices) ==
        "DRAPartitionableDevices (alpha in Kubernetes 1.34, off by default)");
  // DeviceTaintRules were part of DRADeviceTaints until 1.35 split them off.
  CHECK(g->Enabled(features::kDRADeviceTaintRules));
  CHECK(g->Describe(features::kDRADeviceTaintRules) ==
        "DRADeviceTaintRules (part of DRADeviceTaints (alpha in Kubernetes 1.34, turned on by "
        "--feature-gates))");
  CHECK(g->HowToEnable(features::kDRAPartitionableDevices) ==
        "turn it on with --feature-gates DRAPartitionableDevices=true");
  CHECK(g->HowToEnable(features::kDRAListTypeAttributes) ==
        "it comes in Kubernetes 1.36 (--kubernetes-version)");
  CHECK(g->Describe(features::kDRAListTypeAttributes) ==
        "DRAListTypeAttributes (not in Kubernetes 1.34)");

  auto unknown = FeatureGates::For(KubeVersion{36}, "DRANoSuchThing=true");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.status().message(),
             Catch::Contains("unrecognized feature gate: DRANoSuchThing"));
  auto too_new = FeatureGates::For(KubeVersion{34}, "DRADeviceTaintRules=true");
  REQUIRE_FALSE(too_new.ok());
  CHECK_THAT(too_new.status().message(), Catch::Contains("does not exist in Kubernetes 1.34"));
  auto locked = FeatureGates::For(KubeVersion{36}, "DRAAdminAccess=false");
  REQUIRE_FALSE(locked.ok());
  CHECK_THAT(locked.status().message(),
             Catch::Contains("cannot set feature gate DRAAdminAccess to false, feature is "
                             "locked to true"));
  CHECK(FeatureGates::For(KubeVersion{35}, "DRAAdminAccess=false").ok());  // beta: not locked
  auto novalue = FeatureGates::For(KubeVersion{36}, "DRADeviceTaints");
  REQUIRE_FALSE(novalue.ok());
  CHECK_THAT(novalue.status().message(), Catch::Contains("missing bool value for DRADeviceTaints"));
  auto badbool = FeatureGates::For(KubeVersion{36}, "DRADeviceTaints=yes");
  REQUIRE_FALSE(badbool.ok());
  CHECK_THAT(badbool.status().message(), Catch::Contains("invalid value of DRADeviceTaints=yes"));
  // strconv.ParseBool spellings.
  CHECK(FeatureGates::For(KubeVersion{34}, "DRADeviceTaints=T")->Enabled("DRADeviceTaints"));
  CHECK(FeatureGates::For(KubeVersion{34}, ",,").ok());
}
