//! What a run leaves on disk: its rows ([`records`]), its manifest
//! ([`manifest`]), its checkpoint ([`checkpoint`]), and the layout of a
//! results folder ([`dir`]), and what a command may write ([`overwrite`]).

pub mod checkpoint;
pub mod dir;
pub mod manifest;
pub mod overwrite;
pub mod records;
