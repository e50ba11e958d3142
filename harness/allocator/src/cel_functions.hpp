// File: cel_functions.hpp (private to the allocator module)
//
// The operators and built-in functions of the CEL evaluator (cel_eval.cpp),
// implemented in cel_functions.cpp. Each is a pure function of already
// evaluated, non-error arguments; a type or range problem is returned as an
// error value (Value::Kind::kError), never thrown. Costs are charged by the
// evaluator.
#ifndef DRAHIL_ALLOCATOR_CEL_FUNCTIONS_HPP_INCLUDED
#define DRAHIL_ALLOCATOR_CEL_FUNCTIONS_HPP_INCLUDED

#include <cstddef>
#include <cstdint>

#include "cel_internal.hpp"

namespace drahil::allocator::cel::internal {

// MapFind(): the value stored under a key equal to `key`; nullptr if none.
const Value* MapFind(const ValueMap& m, const Value& key);

// NoOverload(): the error "no such overload: fn(kinds...)".
Value NoOverload(const char* fn, const Value& a);
Value NoOverload(const char* fn, const Value& a, const Value& b);

// ---- operators

// Compare(): < <= > >= of numbers (NaN compares false), strings, bytes, bools.
Value Compare(Op op, const Value& a, const Value& b);
// In(): `a in b` for a list (an equal element) or a map (a key).
Value In(const Value& a, const Value& b);
// IntArith(), UintArith(), DoubleArith(): + - * / (%) of one numeric kind.
Value IntArith(Op op, int64_t x, int64_t y);
Value UintArith(Op op, uint64_t x, uint64_t y);
Value DoubleArith(Op op, const Value& a, const Value& b);
Value Not(const Value& v);     // !_
Value Negate(const Value& v);  // -_

// ---- built-in functions; `n` is the call node (its fn and name).

Value Size(const Value& a);
Value StringCase(const Node& n, const Value& a);  // lowerAscii, upperAscii, trim
Value ToInt(const Value& a);
Value ToUint(const Value& a);
Value ToDouble(const Value& a);
Value ToString(const Value& a);
Value ToBytes(const Value& a);
Value ToBool(const Value& a);
Value ParseQuantity(const Node& n, const Value& a);  // quantity, isQuantity
Value ParseSemver(const Node& n, size_t nargs, const Value& a, const Value& b);
Value CompareTo(const Node& n, const Value& a, const Value& b);       // and isGreater/LessThan
Value QuantityArith(const Node& n, const Value& a, const Value& b);   // add, sub
Value AsInteger(const Node& n, const Value& a);                       // and isInteger
Value QuantityUnary(const Node& n, const Value& a);                   // asApproximateFloat, sign
Value SemverPart(const Node& n, const Value& a);                      // major, minor, patch
Value OptionalAccess(const Node& n, const Value& a, const Value& b);  // orValue, ...

// ---- the extension libraries (cel_library.cpp)

// LibraryCall(): a function of ext.Strings/Lists/Sets or the Kubernetes
// list, regex, IP, CIDR and URL libraries; args[0] is the receiver of a
// method. LibraryCost(): the units the evaluator charges for it first.
Value LibraryCall(const Node& n, const Value* args, size_t nargs);
int64_t LibraryCost(const Node& n, const Value* args, size_t nargs);
// SortList(): `list` stably ordered by `keys` (sort(), sortBy()); an error
// when the keys are not of one orderable kind. SortCost(): n·log n units.
Value SortList(const ValueList& list, const ValueList& keys);
int64_t SortCost(size_t n);
// IpToString(), CidrToString(): netip's canonical forms.
std::string IpToString(const IpAddr& a);
std::string CidrToString(const CidrValue& c);

// ---- timestamps and durations (cel_time.cpp)

Value MakeTimestamp(int64_t seconds, int32_t nanos);  // "timestamp overflow" out of range
Value ParseTimestamp(const std::string& s);           // RFC 3339
Value ParseDuration(const std::string& s);            // Go's time.ParseDuration
std::string TimestampToString(const TimestampValue& t);
std::string DurationToString(int64_t nanos);
// TimeGetter(): getFullYear() ... getMilliseconds() of a timestamp (in time
// zone *tz when given) or a duration.
Value TimeGetter(const Node& n, const Value& a, const Value* tz);
Value TimeArith(Op op, const Value& a, const Value& b);  // + and - of time values
int TimeCompare(const Value& a, const Value& b);         // two timestamps or two durations

}  // namespace drahil::allocator::cel::internal

#endif  // DRAHIL_ALLOCATOR_CEL_FUNCTIONS_HPP_INCLUDED
