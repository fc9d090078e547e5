//! crashlens: a Linux x86_64 kernel crash-dump analyzer.
//!
//! Layers, each knowing only the one below: [`source`] (random-access reads) -> [`cache`]
//! (bounded page cache) -> [`dump`] (containers: one physical-memory view + notes) ->
//! [`kernel`] (VMCOREINFO, paging, symbols, log) -> [`analysis`] -> [`report`] (one serde model and
//! its renderers) -> fronts ([`cli`] natively, `wasm` in the browser).

pub mod analysis;
pub mod bytes;
pub mod cache;
pub mod console;
pub mod debuginfo;
pub mod dump;
pub mod error;
pub mod kernel;
pub mod render;
pub mod report;
pub mod source;
pub mod util;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
