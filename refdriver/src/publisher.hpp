// SlicePublisher: keeps the driver's ResourceSlices in the API server equal to
// what BuildSlices() says, as the upstream slice controller does: create with
// generateName, update in place with a bumped pool generation, delete extras.
#ifndef DRAHIL_REFDRIVER_PUBLISHER_HPP_INCLUDED
#define DRAHIL_REFDRIVER_PUBLISHER_HPP_INCLUDED

#include <mutex>

#include "drahil/kube/rest_client.hpp"
#include "driver.hpp"

namespace drahil::refdriver {

class SlicePublisher {
 public:
  SlicePublisher(const Options& opts, kube::RestClient* api) : opts_(opts), api_(api) {}
  // Sync(): idempotent; returns the first error (the caller retries later).
  Status Sync(const std::vector<Json>& desired);

 private:
  const Options& opts_;
  kube::RestClient* api_;
  std::mutex mu_;
  Json owner_;  // ownerReferences entry for the Node, once known
};

}  // namespace drahil::refdriver

#endif
