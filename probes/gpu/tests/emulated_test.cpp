#include "drahil/testing/testing.hpp"
