//! ZIP directory lookups: `cargo bench -p hod-domain --bench zip_lookup`.
//! Prints the time to build the directory and the mean time of one lookup.
use std::hint::black_box;
use std::time::Instant;

use hod_domain::{Zip, ZipDirectory};

fn main() {
    let started = Instant::now();
    let dir = ZipDirectory::bundled();
    println!("parse {} ZIPs: {:?}", dir.len(), started.elapsed());

    // A fixed pseudo-random mix of known and unknown ZIPs.
    let mut x: u32 = 0x9E37_79B9;
    let queries: Vec<Zip> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            Zip::parse(&format!("{:05}", x % 100_000)).expect("five digits")
        })
        .collect();
    for round in 0..3 {
        let started = Instant::now();
        let mut found = 0usize;
        for z in &queries {
            if black_box(dir.get(black_box(*z))).is_some() {
                found += 1;
            }
        }
        let elapsed = started.elapsed();
        #[allow(clippy::cast_precision_loss)]
        let ns = elapsed.as_nanos() as f64 / queries.len() as f64;
        println!(
            "round {round}: {} lookups ({found} found) in {elapsed:?}: {ns:.1} ns per lookup",
            queries.len()
        );
    }
}
