// Eigen typedefs shared by problems and algorithms (as in Ceres Solver):
// owning vectors and matrices, and Maps that view a buffer without copying.
#ifndef AIA_BASE_EIGEN_H_
#define AIA_BASE_EIGEN_H_

#include "Eigen/Core"

namespace aia {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VectorRef = Eigen::Map<Vector>;
using ConstVectorRef = Eigen::Map<const Vector>;

}  // namespace aia

#endif  // AIA_BASE_EIGEN_H_
