// The aia version, reported by workers at Ready and written into summary.json.
#ifndef AIA_BASE_VERSION_H_
#define AIA_BASE_VERSION_H_

namespace aia {

inline constexpr char kVersion[] = "0.2.0";

}  // namespace aia

#endif  // AIA_BASE_VERSION_H_
