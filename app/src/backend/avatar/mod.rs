//! Profile pictures (avatars): turning an uploaded file into the small square JPEG we serve.
//!
//! [`pipeline`] is the pure part: bytes in, bytes out, no I/O, no async, so it can be tested
//! and benchmarked on its own. Whatever runs it for a request is responsible for running it
//! off the async runtime, bounding how many run at once, and catching a panic.

pub mod pipeline;
