//! Numerical helpers with no knowledge of experiments: statistics, the
//! seeded random streams, the identity hash, and the subnormal-float switch.

pub mod denormals;
pub mod hash;
pub mod rng;
pub mod stats;
