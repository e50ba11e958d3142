#include "expectations.hpp"

namespace drahil::node {

const std::map<std::string, Expectation>& Expectations() {
  static const std::map<std::string, Expectation> k = {
      {"grpc-code", ExpectGrpcCode},
      {"claim-error", ExpectClaimError},
      {"cdi-ids", ExpectCdiIds},
      {"slices", ExpectSlices},
      {"claim-status", ExpectClaimStatus},
      {"health", ExpectHealth},
      {"taints", ExpectTaints},
      {"api-audit", ExpectApiAudit},
      {"calls", ExpectCalls},
      {"audit", ExpectAudit},
      {"pod-resources", ExpectPodResources},
      {"resource-status", ExpectResourceStatus},
      {"driver-growth", ExpectDriverGrowth},
      {"probe", ExpectProbe},
      {"registration", ExpectRegistration},
      {"cdi-clean", ExpectCdiClean},
      {"counters", ExpectCounters},
      {"pool-generation", ExpectPoolGeneration},
      {"share-ids", ExpectShareIds},
      {"pod-status", ExpectPodStatus},
  };
  return k;
}

}  // namespace drahil::node
