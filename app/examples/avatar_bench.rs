//! Runs the avatar pipeline once on one file, for `bench/avatar/run.sh`.
//!
//! Usage: `avatar_bench INPUT OUTPUT`. One process per image, like the command-line tools it
//! is compared with, so the script can measure wall time and peak memory the same way for
//! each. Prints how long the pipeline itself took (without process start and file I/O) to
//! standard error.

use app::backend::avatar::pipeline::{Limits, make_avatar};
use std::{env, fs, process::ExitCode, time::Instant};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: avatar_bench INPUT OUTPUT");
        return ExitCode::from(2);
    };

    let bytes = match fs::read(input) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("cannot read {input}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let avatar = match make_avatar(&bytes, &Limits::default()) {
        Ok(avatar) => avatar,
        Err(error) => {
            eprintln!("{input}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let elapsed = started.elapsed();

    if let Err(error) = fs::write(output, &avatar) {
        eprintln!("cannot write {output}: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!("pipeline {:.1} ms", elapsed.as_secs_f64() * 1000.0);
    ExitCode::SUCCESS
}
