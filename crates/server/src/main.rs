#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use hod_server::cli::Cli;

/// jemalloc rather than glibc's allocator: with a thread per SQLite connection, glibc kept an
/// arena per thread, and what the daily eligibility run freed stayed with the process
/// (383 MB at the peak with 100,000 agents under intake, 324 MB with jemalloc; BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the whole cause chain, no backtrace.
            let message = format!("{e:#}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
