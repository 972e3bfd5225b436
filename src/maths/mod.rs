//! Numerical helpers with no knowledge of experiments: statistics, the
//! seeded random streams, the identity hash, and the subnormal-float switch.

pub mod bootstrap;
pub mod denormals;
pub mod expected_max;
pub mod hash;
pub mod rng;
pub mod stats;
