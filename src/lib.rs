//! trawl: a news-feed ingester.
//!
//! # Layout
//!
//! The data path reads from the module names, in order:
//!
//! - [`config`]: reads and validates `trawl.toml`.
//! - [`scheduler`]: when each feed is due (pure policy) and politeness per site.
//! - [`fetch`]: conditional HTTP GET of one feed, with every limit enforced while streaming.
//! - [`parse`]: bytes → charset-decoded document → normalized [`article::Article`]s.
//! - [`dedupe`]: the keys that make two entries one article, and the pure decision.
//! - [`store`]: SQLite; one writer, one transaction per batch of feeds.
//!
//! Beside the path: [`search`] and [`export`], the pure sides of finding
//! stored articles and writing them out.
//!
//! [`ingest`] is the one orchestrator: `ingest_one` runs fetch → parse →
//! dedupe → store for one feed, and the one-off `trawl fetch`, the [`daemon`]
//! and the [`admin`] trigger all call it. [`metrics`] counts what it does;
//! [`cli`] is the command line on top, and [`allocator`] the binaries' jemalloc.

pub mod article;
pub mod config;
pub mod opml;
pub mod scheduler;
pub mod fetch;
pub mod limits;
pub mod parse;
pub mod discover;
pub mod dedupe;
pub mod store;
pub mod search;
pub mod export;
pub mod ingest;
pub mod metrics;
pub mod daemon;
pub mod admin;
pub mod cli;
pub mod allocator;
